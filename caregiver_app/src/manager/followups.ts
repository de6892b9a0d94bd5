// Follow-ups opened by abnormal readings (and by "not seen well"): who, what, since when, what
// is proposed; closed with a note of what was done.
import { h } from "../dom";
import { fmtDate, fmtDateTime, t } from "../i18n";
import { state } from "../state";
import { priorityBadge, section } from "../views/common";
import { getJson, HttpError, sendJson } from "./net";
import type { QueueItem } from "./reviews";

const KIND_TEXT: Record<string, string> = {
  abnormal_reading: "manager.kind.abnormal_reading",
  critical_reading: "manager.kind.critical_reading",
  not_seen_well: "manager.kind.not_seen_well",
};

function days(since: string): number {
  return Math.max(0, Math.floor((Date.now() - Date.parse(since)) / 86400_000));
}

function card(item: QueueItem, done: () => void): HTMLElement {
  const note = h("textarea", { name: "resolution", rows: 2, maxlength: 1000, required: true }) as HTMLTextAreaElement;
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const proposed = item.detail.proposed_due_by;
  const close = async (): Promise<void> => {
    if (!note.value.trim()) {
      error.textContent = t("manager.followup.note_needed");
      error.hidden = false;
      return;
    }
    try {
      await sendJson(`/api/v1/reviews/${item.id}/resolve`, "POST", { resolution: note.value.trim() });
      done();
      state.flash(t("manager.followup.closed", { name: item.elder_name }));
    } catch (e) {
      error.textContent = e instanceof HttpError ? e.message : t("manager.online_only");
      error.hidden = false;
    }
  };
  return h("article", { class: "card followup", "data-review": item.id, "data-kind": item.kind },
    h("h3", {}, h("a", { href: `#/m/record/${item.elder_id}` }, item.elder_name), " ", priorityBadge(item.priority)),
    h("p", {}, `${t(KIND_TEXT[item.kind] ?? item.kind)} · ${item.community}`),
    h("p", { class: "muted" }, t("manager.followup.since", { when: fmtDateTime(item.created_at), days: days(item.created_at) })),
    item.readings.length
      ? h("ul", { class: "list" }, item.readings.map((r) =>
        h("li", {}, `${fmtDateTime(r.observed_at)}: `, Object.entries(r.values).map(([code, v]) => `${t(`code.${code}`)} ${v}`).join(" · "), " ", priorityBadge(r.priority))))
      : null,
    typeof item.detail.note === "string" ? h("p", {}, item.detail.note) : null,
    typeof proposed === "string" ? h("p", {}, t("manager.followup.proposed", { when: fmtDate(proposed) })) : null,
    h("label", {}, t("manager.followup.what_done"), note),
    error,
    h("div", { class: "actions" }, h("button", { type: "button", class: "close-followup", onclick: () => void close() }, t("manager.followup.close"))));
}

interface ConsultLine {
  consult: { id: string; elder_id: string; urgency: string; created_at: string; overdue: boolean };
  elder_name: string;
  community: string;
}

// Questions to the clinicians that have waited past their urgency's time: the care manager
// chases them (the clinicians' queue shows the same mark).
function overdueConsults(lines: ConsultLine[]): HTMLElement | null {
  const late = lines.filter((line) => line.consult.overdue);
  if (!late.length) return null;
  return section(t("manager.consults.overdue_title"), null, h("ul", { class: "list", id: "overdue-consults" },
    late.map((line) => h("li", { class: "overdue-consult", "data-consult": line.consult.id },
      h("a", { href: `#/m/record/${line.consult.elder_id}` }, line.elder_name),
      ` · ${line.community} · ${t(`consult.urgency.${line.consult.urgency}`)} · `,
      t("manager.consults.asked", { when: fmtDateTime(line.consult.created_at) })))));
}

export async function followupsView(): Promise<HTMLElement> {
  const [items, consults] = await Promise.all([
    getJson<QueueItem[]>("/api/v1/manager/reviews?kind=critical_reading&kind=abnormal_reading&kind=not_seen_well"),
    getJson<ConsultLine[]>("/api/v1/consults/queue"),
  ]);
  const rank: Record<string, number> = { RED: 0, YELLOW: 1, GREEN: 2 };
  items.sort((a, b) => (rank[a.priority ?? ""] ?? 3) - (rank[b.priority ?? ""] ?? 3) || Date.parse(a.created_at) - Date.parse(b.created_at));
  const list = h("div", { id: "followup-list", "data-count": items.length });
  list.append(...items.map((item) => {
    const el = card(item, () => {
      el.remove();
      list.dataset.count = String(list.children.length);
    });
    return el;
  }));
  const followups = section(t("manager.followup.title"), items.length ? null : h("p", { class: "muted" }, t("manager.followup.empty")), list);
  const late = overdueConsults(consults);
  return late ? h("div", {}, late, followups) : followups;
}
