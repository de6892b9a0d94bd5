// The tablet's store (IndexedDB through Dexie): the user's elders as last pulled, and the
// outbox of everything made here until the server has it.
import Dexie, { type Table } from "dexie";

export type OutboxState = "waiting" | "sent" | "conflict" | "refused";
export type RecordType =
  | "visit"
  | "visit_update"
  | "observation"
  | "note"
  | "voice_note"
  | "checkin"
  | "consult"
  | "elder_update";

export interface OutboxEntry {
  id: string; // the client UUID: the record's id on the wire and the new item's id
  type: RecordType;
  target_id?: string;
  base_version?: number;
  data: Record<string, unknown>;
  state: OutboxState;
  urgent: 0 | 1; // a RED reading and what it depends on go first
  seq: number; // order made
  group?: string; // records of one visit share it
  elder_id?: string;
  created_at: string;
  rev: number; // bumped when a waiting record is changed before it is sent
  reason?: string;
  message?: string;
  field?: string;
  review_id?: string;
  result?: Record<string, unknown>;
  server?: Record<string, unknown>; // the server's values of a conflicting edit's fields
  base?: Record<string, unknown>; // an edit's fields as this tablet had them before it
  sent_at?: string;
  user_id?: string;
  priority?: string | null; // triage colour of a reading, as judged on the tablet
}

export interface VoiceBlob {
  id: string; // the voice note's id
  visit_id: string;
  blob: Blob;
  content_type: string;
  uploaded: 0 | 1;
}

export interface VisitDraft {
  id: string; // the visit's id (a scheduled one's, or a new UUID)
  elder_id: string;
  scheduled: boolean;
  base_version?: number;
  started_at: string;
  step: number;
  checklist: { item: string; done: boolean }[];
  adl_items: Record<string, number>;
  adl_due: boolean;
  notes: string;
  problems: string;
  next_steps: string;
  observation_ids: string[];
  voice_note_ids: string[];
  latitude?: number;
  longitude?: number;
}

export interface Row {
  id: string;
  elder_id?: string;
  [key: string]: unknown;
}

// The pulled readings of one elder in one month (UTC, by `observed_at`), kept as one row: a
// year for 40 elders is ~15,000 reading sets, and writing each as its own row (with its
// index entries) was most of a first pull's time. Readings made on this tablet stay rows of
// `observations` until they come back from the server.
export interface HistoryBlock {
  id: string; // `${elder_id}/${month}`
  elder_id: string;
  month: string; // YYYY-MM
  readings: Row[]; // the reading sets as the server sent them (`SyncObservation`)
}

/** Reading sets grouped into their blocks, by block id. */
export function toBlocks(readings: Row[]): Map<string, HistoryBlock> {
  const blocks = new Map<string, HistoryBlock>();
  for (const r of readings) {
    const month = String(r.observed_at).slice(0, 7);
    const id = `${String(r.elder_id)}/${month}`;
    let block = blocks.get(id);
    if (!block) {
      block = { id, elder_id: String(r.elder_id), month, readings: [] };
      blocks.set(id, block);
    }
    block.readings.push(r);
  }
  return blocks;
}

export class CareDb extends Dexie {
  meta!: Table<{ key: string; value: unknown }, string>;
  elders!: Table<Row, string>;
  care_plans!: Table<Row, string>;
  visits!: Table<Row, string>;
  observations!: Table<Row, string>;
  history!: Table<HistoryBlock, string>;
  notes!: Table<Row, string>;
  voice_notes!: Table<Row, string>;
  consults!: Table<Row, string>;
  checkins!: Table<Row, string>;
  outbox!: Table<OutboxEntry, string>;
  blobs!: Table<VoiceBlob, string>;
  drafts!: Table<VisitDraft, string>;

  constructor(name = "eldercare-care") {
    super(name);
    this.version(1).stores({
      meta: "key",
      elders: "id",
      care_plans: "id, elder_id",
      visits: "id, elder_id",
      observations: "id, elder_id, observed_at",
      notes: "id, elder_id",
      voice_notes: "id, elder_id",
      consults: "id, elder_id",
      checkins: "id, elder_id",
      outbox: "id, state, seq, group",
      blobs: "id, uploaded",
      drafts: "id, elder_id",
    });
    // Pulled readings move to `history` (nothing read `observations` by time). A tablet
    // upgraded from version 1 keeps its cursor, so the rows it pulled move into blocks here;
    // those made on the tablet stay.
    this.version(2)
      .stores({ observations: "id, elder_id", history: "id, elder_id" })
      .upgrade(async (tx) => {
        const pulled = await tx.table<Row, string>("observations").filter((o) => !o.local).toArray();
        await tx.table<HistoryBlock, string>("history").bulkPut([...toBlocks(pulled).values()]);
        await tx.table("observations").bulkDelete(pulled.map((o) => o.id));
      });
  }
}

export const db = new CareDb();
// Another tab opened a newer version of the store: this page's copy is stale.
db.on("versionchange", () => {
  db.close();
  if (typeof window !== "undefined") window.location.reload();
});

export const DATA_TABLES = [
  "elders",
  "care_plans",
  "visits",
  "observations",
  "notes",
  "voice_notes",
  "consults",
  "checkins",
] as const;
export type DataTable = (typeof DATA_TABLES)[number];

/** Every reading set held for an elder, pulled or made here, in no particular order. The
 * server's copy of a reading made here wins (it carries the server's triage reasons). */
export async function elderReadings(elderId: string): Promise<Row[]> {
  const [own, blocks] = await Promise.all([
    db.observations.where("elder_id").equals(elderId).toArray(),
    db.history.where("elder_id").equals(elderId).toArray(),
  ]);
  const byId = new Map<string, Row>(own.map((o) => [o.id, o]));
  for (const block of blocks) for (const o of block.readings) byId.set(o.id, o);
  return [...byId.values()];
}

export async function getMeta<T>(key: string): Promise<T | undefined> {
  const row = await db.meta.get(key);
  return row?.value as T | undefined;
}

export async function setMeta(key: string, value: unknown): Promise<void> {
  await db.meta.put({ key, value });
}
