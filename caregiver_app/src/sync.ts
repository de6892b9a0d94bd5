// Pull (the user's elders into IndexedDB) and push (the outbox to POST /api/v1/sync).
// One drainer at a time across tabs and the service worker (a Web Lock). Dexie transactions
// never span a fetch: read, send, then mark in a new transaction.
import { type AppSession, Offline, request, SignedOut } from "./api";
import { DATA_TABLES, type DataTable, db, getMeta, type OutboxEntry, type Row, setMeta, toBlocks } from "./db";

// What a volunteer's tablet may hold of an elder: contact and living situation, nothing
// clinical (no conditions, medicines, allergies, mobility, falls, ADL, devices).
export const VOLUNTEER_FIELDS = [
  "id", "version", "title", "first_name", "last_name", "phone", "address", "community",
  "latitude", "longitude", "access_notes", "lives_alone", "has_carer", "emergency_contacts",
  "volunteer_id", "status",
] as const;

const BATCH = 200;
// Rows per IndexedDB transaction when a pull is written (a history block is a month).
const PULL_CHUNK = 2000;
const BLOCK_CHUNK = 200;

// Named moments for the benchmark (Performance API); harmless elsewhere.
function mark(name: string): void {
  if (typeof performance !== "undefined" && performance.mark) performance.mark(name);
}
export type SyncEvent = "pulled" | "pushed" | "signed-out" | "offline";
type Listener = (event: SyncEvent) => void;
const listeners: Listener[] = [];
export function onSync(listener: Listener): void {
  listeners.push(listener);
}
function emit(event: SyncEvent): void {
  for (const l of listeners) l(event);
}

export function forVolunteer(elder: Row): Row {
  const kept: Row = { id: String(elder.id) };
  for (const name of VOLUNTEER_FIELDS) if (name in elder) (kept as Record<string, unknown>)[name] = elder[name];
  return kept;
}

export async function pull(session: AppSession): Promise<boolean> {
  const since = await getMeta<string>("cursor");
  mark("pull-start");
  let res: Response;
  try {
    res = await request(`/api/v1/sync${since ? `?since=${encodeURIComponent(since)}` : ""}`);
  } catch (error) {
    if (error instanceof SignedOut) emit("signed-out");
    if (error instanceof Offline) emit("offline");
    return false;
  }
  if (!res.ok) return false;
  const body = (await res.json()) as Record<string, unknown> & { cursor: string; full: boolean };
  // Received and parsed: what follows is IndexedDB's share of the pull.
  mark("pull-parsed");
  const volunteer = session.role === "volunteer";
  const rows: [DataTable, Row[]][] = [];
  for (const name of DATA_TABLES) {
    if (volunteer && name !== "elders" && name !== "checkins") continue;
    const given = (body[name] as Row[]) ?? [];
    rows.push([name, volunteer && name === "elders" ? given.map(forVolunteer) : given]);
  }
  // Pulled readings go into month blocks (db.ts, HistoryBlock), not one row each. A reading
  // made here that the server now sends back is also updated where it lies, as before: the
  // visit being done reads its own readings by id.
  const pulledReadings = rows.find(([name]) => name === "observations")?.[1] ?? [];
  const blocks = toBlocks(pulledReadings);
  const local = new Set(await db.observations.toCollection().primaryKeys());
  const pulledIds = new Set(pulledReadings.map((r) => r.id));
  const ownCopies = pulledReadings.filter((r) => local.has(r.id));
  const blockList = [...blocks.values()];
  // Written in chunks, each its own short transaction: a year of readings is ~15,000 reading
  // sets, and one transaction over every table would hold the screens' reads until all of
  // it is in. The cursor is saved last, with the removals: a pull cut short leaves the old
  // rows and the old cursor, and the next pull sends the same changes again.
  for (const [name, list] of rows) {
    const put = name === "observations" ? ownCopies : list;
    for (let at = 0; at < put.length; at += PULL_CHUNK) {
      await db[name].bulkPut(put.slice(at, at + PULL_CHUNK));
    }
  }
  for (let at = 0; at < blockList.length; at += BLOCK_CHUNK) {
    const chunk = blockList.slice(at, at + BLOCK_CHUNK);
    await db.transaction("rw", db.history, async () => {
      if (!body.full) {
        // Changes since the cursor join the readings the blocks already hold.
        const held = await db.history.bulkGet(chunk.map((b) => b.id));
        chunk.forEach((block, i) => {
          const byId = new Map((held[i]?.readings ?? []).map((r) => [r.id, r]));
          for (const r of block.readings) byId.set(r.id, r);
          block.readings = [...byId.values()];
        });
      }
      await db.history.bulkPut(chunk);
    });
  }
  const tables = DATA_TABLES.map((name) => db[name]);
  await db.transaction("rw", [...tables, db.history, db.meta], async () => {
    if (body.full) {
      // A full pull replaces: what the tablet held and the server no longer sent goes.
      for (const [name, list] of rows) {
        const kept = name === "observations" ? pulledIds : new Set(list.map((r) => r.id));
        const stale = (await db[name].toCollection().primaryKeys()).filter((id) => !kept.has(id));
        if (stale.length) await db[name].bulkDelete(stale);
      }
      const staleBlocks = (await db.history.toCollection().primaryKeys()).filter((id) => !blocks.has(id));
      if (staleBlocks.length) await db.history.bulkDelete(staleBlocks);
      if (volunteer) {
        for (const name of DATA_TABLES) if (name !== "elders" && name !== "checkins") await db[name].clear();
        await db.history.clear();
      }
    }
    for (const tomb of (body.tombstones as { id: string }[]) ?? []) {
      await db.elders.delete(tomb.id);
      for (const name of DATA_TABLES) {
        if (name !== "elders") await db[name].where("elder_id").equals(tomb.id).delete();
      }
      await db.history.where("elder_id").equals(tomb.id).delete();
    }
    await db.meta.put({ key: "cursor", value: body.cursor });
    await db.meta.put({ key: "pulled_at", value: new Date().toISOString() });
  });
  mark("pull-end");
  emit("pulled");
  return true;
}

export function byUrgency(a: OutboxEntry, b: OutboxEntry): number {
  return b.urgent - a.urgent || a.seq - b.seq;
}

function wire(entry: OutboxEntry): Record<string, unknown> {
  const record: Record<string, unknown> = { id: entry.id, type: entry.type, data: entry.data };
  if (entry.target_id) record.target_id = entry.target_id;
  if (entry.base_version) record.base_version = entry.base_version;
  if (entry.base) record.base = entry.base;
  return record;
}

// The fields a visit create and a visit edit share (the log of the visit).
const VISIT_LOG_FIELDS = [
  "started_at", "ended_at", "latitude", "longitude", "checklist", "notes", "adl_score",
  "adl_items", "problems", "next_steps", "status",
];

interface SyncResult {
  id: string | null;
  result: "stored" | "duplicate" | "conflict" | "rejected";
  reason?: string;
  message?: string;
  field?: string;
  target_id?: string;
  version?: number;
  review_id?: string;
  detail?: Record<string, unknown>;
}

async function mine(): Promise<OutboxEntry[]> {
  const session = await getMeta<AppSession>("session");
  const waiting = await db.outbox.where("state").equals("waiting").toArray();
  return waiting.filter((e) => !e.user_id || e.user_id === session?.user_id).sort(byUrgency);
}

async function sendBatch(batch: OutboxEntry[]): Promise<boolean> {
  const revs = new Map(batch.map((e) => [e.id, e.rev]));
  const res = await request("/api/v1/sync", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ records: batch.map(wire) }),
  });
  if (!res.ok) return false;
  const body = (await res.json()) as { results: SyncResult[] };
  const sides = await serverSides(batch, body.results);
  const now = new Date().toISOString();
  await db.transaction("rw", db.outbox, db.visits, db.meta, async () => {
    // One read and one write of the outbox for the whole answer, not two per record.
    const answered = body.results.filter((r): r is SyncResult & { id: string } => Boolean(r.id));
    const entries = await db.outbox.bulkGet(answered.map((r) => r.id));
    const changed: OutboxEntry[] = [];
    for (const [i, r] of answered.entries()) {
      const entry = entries[i];
      if (!entry) continue;
      const result = r as unknown as Record<string, unknown>;
      if (r.result === "stored" || r.result === "duplicate") {
        if (entry.rev !== revs.get(entry.id) && entry.type === "visit") {
          // Changed while on its way: the rest goes as an edit of the visit just created.
          const data: Record<string, unknown> = {};
          for (const k of VISIT_LOG_FIELDS) if (k in entry.data) data[k] = entry.data[k];
          await db.outbox.add({
            ...entry, id: crypto.randomUUID(), type: "visit_update", target_id: entry.id,
            base_version: r.version ?? 1, data, seq: await nextSeq(), rev: 0,
          });
        }
        changed.push({ ...entry, state: "sent", sent_at: now, result, review_id: r.review_id });
        if (r.version && (entry.type === "visit" || entry.type === "visit_update")) {
          const id = entry.target_id ?? entry.id;
          await db.visits.update(id, { version: r.version });
        }
      } else if (r.result === "conflict") {
        changed.push({
          ...entry, state: "conflict", reason: r.reason, message: r.message, review_id: r.review_id, result, sent_at: now,
          server: sides.get(entry.id),
        });
      } else {
        changed.push({
          ...entry, state: "refused", reason: r.reason, message: r.message, field: r.field, result, sent_at: now,
        });
      }
    }
    await db.outbox.bulkPut(changed);
  });
  return true;
}

/** The server's side of each conflicting edit of an elder, to be stored with the conflict in
 * one write: another context sees the conflict whole or not at all. Best effort: a lost link
 * here leaves the conflict shown with this tablet's side only. */
async function serverSides(batch: OutboxEntry[], results: SyncResult[]): Promise<Map<string, Record<string, unknown>>> {
  const sides = new Map<string, Record<string, unknown>>();
  for (const r of results) {
    const entry = r.result === "conflict" ? batch.find((e) => e.id === r.id) : undefined;
    if (!entry || entry.type !== "elder_update" || !entry.target_id) continue;
    try {
      const res = await request(`/api/v1/elders/${entry.target_id}`);
      if (!res.ok) continue;
      const current = (await res.json()) as Record<string, unknown>;
      sides.set(entry.id, Object.fromEntries(Object.keys(entry.data).map((k) => [k, current[k]])));
    } catch (error) {
      if (!(error instanceof Offline)) throw error;
    }
  }
  return sides;
}

async function uploadVoice(entry: OutboxEntry): Promise<void> {
  const stored = await db.blobs.get(entry.id);
  if (!stored) {
    await db.outbox.update(entry.id, { state: "refused", reason: "missing_audio", message: "" });
    return;
  }
  const params = new URLSearchParams({ id: entry.id });
  if (typeof entry.data.duration_s === "number") params.set("duration_s", String(entry.data.duration_s));
  if (typeof entry.data.recorded_at === "string") params.set("recorded_at", entry.data.recorded_at);
  const res = await request(`/api/v1/visits/${stored.visit_id}/voice-notes?${params}`, {
    method: "POST",
    headers: { "Content-Type": stored.content_type, "Idempotency-Key": entry.id },
    body: stored.blob,
  });
  const now = new Date().toISOString();
  if (res.ok) {
    const result = (await res.json()) as Record<string, unknown>;
    await db.transaction("rw", db.outbox, db.blobs, async () => {
      await db.outbox.update(entry.id, { state: "sent", sent_at: now, result });
      await db.blobs.update(entry.id, { uploaded: 1 });
    });
  } else if (res.status >= 400 && res.status < 500) {
    let message = "";
    let reason = `http_${res.status}`;
    try {
      const body = (await res.json()) as { detail?: { code?: string; message?: string } };
      message = body.detail?.message ?? "";
      reason = body.detail?.code ?? reason;
    } catch {
      /* a body that is not JSON: the status says enough */
    }
    await db.outbox.update(entry.id, { state: "refused", reason, message, sent_at: now });
  }
}

let draining = false;

/** Send what is waiting. Returns how many records were sent (0 when nothing or offline). */
/** Sends what is waiting; returns how many went, or -1 if another context holds the outbox. */
export async function drain(): Promise<number> {
  const run = async (): Promise<number> => {
    if (draining) return 0;
    draining = true;
    mark("drain-start");
    let sent = 0;
    try {
      for (;;) {
        const waiting = (await mine()).filter((e) => e.type !== "voice_note");
        if (waiting.length === 0) break;
        const batch = waiting.slice(0, BATCH);
        if (!(await sendBatch(batch))) break;
        sent += batch.length;
      }
      const left = await mine();
      const blockedGroups = new Set(left.filter((e) => e.type !== "voice_note").map((e) => e.group));
      for (const entry of left.filter((e) => e.type === "voice_note")) {
        if (entry.group && blockedGroups.has(entry.group)) continue;
        await uploadVoice(entry);
        sent += 1;
      }
    } catch (error) {
      if (error instanceof SignedOut) emit("signed-out");
      else if (error instanceof Offline) emit("offline");
      else throw error;
    } finally {
      draining = false;
      mark("drain-end");
    }
    if (sent) emit("pushed");
    return sent;
  };
  if (typeof navigator !== "undefined" && navigator.locks) {
    // -1: another context (the service worker's Background Sync) is sending the outbox now.
    return navigator.locks.request("outbox", { ifAvailable: true }, async (lock) => (lock ? run() : -1));
  }
  return run();
}

/** Entries of the signed-in user still waiting to be sent. */
export async function waitingCount(): Promise<number> {
  return (await mine()).length;
}

export async function nextSeq(): Promise<number> {
  const last = await db.outbox.orderBy("seq").last();
  return (last?.seq ?? 0) + 1;
}

export async function counts(): Promise<Record<string, number>> {
  const all = await db.outbox.toArray();
  const out: Record<string, number> = { waiting: 0, sent: 0, conflict: 0, refused: 0 };
  for (const e of all) out[e.state] += 1;
  return out;
}
