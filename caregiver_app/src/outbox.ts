// Every entry made on the tablet goes here first, with its own UUID, then to the server.
import type { AppSession } from "./api";
import { db, getMeta, type OutboxEntry, type RecordType } from "./db";
import { nextSeq } from "./sync";

export interface QueueOptions {
  id?: string;
  target_id?: string;
  base_version?: number;
  group?: string;
  elder_id?: string;
  urgent?: boolean;
  base?: Record<string, unknown>;
}

export async function queue(type: RecordType, data: Record<string, unknown>, opts: QueueOptions = {}): Promise<OutboxEntry> {
  const session = await getMeta<AppSession>("session");
  return db.transaction("rw", db.outbox, async () => {
    const entry: OutboxEntry = {
      id: opts.id ?? crypto.randomUUID(),
      type,
      data,
      target_id: opts.target_id,
      base_version: opts.base_version,
      base: opts.base,
      state: "waiting",
      urgent: opts.urgent ? 1 : 0,
      seq: await nextSeq(),
      group: opts.group,
      elder_id: opts.elder_id,
      created_at: new Date().toISOString(),
      rev: 0,
      user_id: session?.user_id,
    };
    await db.outbox.add(entry);
    if (opts.urgent && opts.group) {
      // What the urgent record depends on (its visit) must reach the server with it.
      await db.outbox
        .where("group")
        .equals(opts.group)
        .and((e) => e.state === "waiting")
        .modify({ urgent: 1 });
    }
    return entry;
  });
}

/** Change a record that has not been sent yet; false if it has already gone. */
export async function amendWaiting(id: string, data: Record<string, unknown>): Promise<boolean> {
  return db.transaction("rw", db.outbox, async () => {
    const entry = await db.outbox.get(id);
    if (!entry || entry.state !== "waiting") return false;
    await db.outbox.update(id, { data: { ...entry.data, ...data }, rev: entry.rev + 1 });
    return true;
  });
}
