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

export class CareDb extends Dexie {
  meta!: Table<{ key: string; value: unknown }, string>;
  elders!: Table<Row, string>;
  care_plans!: Table<Row, string>;
  visits!: Table<Row, string>;
  observations!: Table<Row, string>;
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

export async function getMeta<T>(key: string): Promise<T | undefined> {
  const row = await db.meta.get(key);
  return row?.value as T | undefined;
}

export async function setMeta(key: string, value: unknown): Promise<void> {
  await db.meta.put({ key, value });
}
