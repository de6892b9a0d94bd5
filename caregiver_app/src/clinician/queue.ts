// The clinician's queue: open consultations, most urgent first, then longest waiting.
// Clinicians work online at a desk: the queue is read from the server, never stored here.
import { request } from "../api";
import { h } from "../dom";
import { fmtDateTime, t } from "../i18n";
import { state } from "../state";
import { section } from "../views/common";

export interface ConsultRow {
  id: string;
  elder_id: string;
  version: number;
  visit_id: string | null;
  question: string;
  urgency: "urgent" | "soon" | "routine";
  observation_ids: string[];
  status: "requested" | "in_review" | "answered" | "closed";
  advice: string | null;
  answered_at: string | null;
  outcome: Record<string, unknown>;
  created_at: string;
  answer_due_by: string | null;
  overdue: boolean;
  voice_note_ids: string[];
}

interface QueueItem {
  consult: ConsultRow;
  elder_name: string;
  community: string;
}

const URGENCY_CLASS: Record<string, string> = { urgent: "p-RED", soon: "p-YELLOW", routine: "p-none" };

export function urgencyBadge(urgency: string): HTMLElement {
  return h("span", { class: `badge ${URGENCY_CLASS[urgency] ?? "p-none"}`, "data-urgency": urgency }, t(`consult.urgency.${urgency}`));
}

export function waited(since: string, now = Date.now()): string {
  const minutes = Math.max(0, Math.round((now - Date.parse(since)) / 60_000));
  if (minutes < 60) return t("consult.waited_minutes", { n: minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return t("consult.waited_hours", { n: hours });
  return t("consult.waited_days", { n: Math.floor(hours / 24) });
}

export async function queueView(): Promise<HTMLElement> {
  const title = t("clinician.title");
  if (!state.online) return section(title, h("p", {}, t("clinician.online_only")));
  let items: QueueItem[];
  try {
    const res = await request("/api/v1/consults/queue?limit=200");
    if (!res.ok) return section(title, h("p", { role: "alert" }, t("consult.load_failed")));
    items = (await res.json()) as QueueItem[];
  } catch {
    return section(title, h("p", {}, t("clinician.online_only")));
  }
  if (items.length === 0) return section(title, h("p", { id: "queue-empty" }, t("consult.queue_empty")));
  const now = Date.now();
  const rows = items.map(({ consult: c, elder_name, community }) =>
    h("li", { class: `visit-item${c.overdue ? " overdue" : ""}`, "data-consult": c.id, "data-urgency": c.urgency },
      h("div", {},
        h("div", {}, urgencyBadge(c.urgency), " ", h("strong", {}, elder_name), h("span", { class: "muted" }, ` · ${community}`)),
        h("p", { class: "question" }, c.question),
        h("div", { class: "muted" },
          `${t("consult.asked_at", { when: fmtDateTime(c.created_at) })} · ${waited(c.created_at, now)} · ${t(`consult.status.${c.status}`)}`,
          c.voice_note_ids.length ? ` · ${t("consult.has_voice")}` : ""),
        c.overdue ? h("span", { class: "badge p-YELLOW", "data-overdue": "1" }, t("consult.overdue")) : null),
      h("div", { class: "actions" },
        h("a", { href: `#/consult/${c.id}`, class: "button", "aria-label": t("consult.open_for", { name: elder_name }) }, t("consult.open")))));
  return section(title, h("p", { class: "muted" }, t("consult.queue_order")), h("ul", { class: "list", id: "consult-queue" }, rows));
}
