// What the care manager sees beyond the caregiver's record of an elder: ADL over time,
// consents, devices and the hub, alerts with their timelines, and who set the targets.
import { db } from "../db";
import { h } from "../dom";
import { fmtDate, fmtDateTime, t } from "../i18n";
import { elderName, priorityBadge, section } from "../views/common";
import { getJson, type Person } from "./net";

export interface ManagerRecord {
  elder_id: string;
  adl_history: { at: string; score: number; by: string | null }[];
  consents: { scope: string[]; given_on: string; withdrawn_on: string | null }[];
  devices: { id: string; kind: string; label: string | null; model: string | null; active: boolean; last_seen_at: string | null; battery: number | null; offline_since: string | null }[];
  alerts: { id: string; kind: string; priority: string; status: string; occurred_at: string; events: { at: string; action: string; to_status: string | null; actor_name: string | null; note: string | null }[] }[];
  targets: { overrides: Record<string, unknown>; set_by: string | null; set_at: string | null };
  caregivers: Person[];
  volunteers: Person[];
}

function table(caption: string, heads: string[], rows: HTMLElement[], id: string): HTMLElement {
  if (rows.length === 0) return h("p", { class: "muted", id }, t("manager.record.none"));
  return h("div", { class: "table-wrap" }, h("table", { class: "mtable", id },
    h("caption", { class: "visually-hidden" }, caption),
    h("thead", {}, h("tr", {}, heads.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows)));
}

// An alert's kind, status and timeline steps in the console's words (the server's catalogue,
// exported with the app); a code the catalogue does not know is shown as it is.
function named(prefix: string, code: string): string {
  const key = `${prefix}.${code}`;
  const text = t(key);
  return text === key ? code : text;
}

function adlGroup(score: number): string {
  return t(score >= 12 ? "manager.adl.social" : score >= 5 ? "manager.adl.home" : "manager.adl.bed");
}

export async function recordView(id: string): Promise<HTMLElement> {
  const rec = await getJson<ManagerRecord>(`/api/v1/manager/elders/${id}/record`);
  const elder = await db.elders.get(id);
  const title = elder ? elderName(elder) : t("manager.record.title");
  const targets = rec.targets.set_by
    ? t("manager.record.targets_set", { name: rec.targets.set_by, when: rec.targets.set_at ? fmtDate(rec.targets.set_at) : "" })
    : t("manager.record.targets_default");
  return h("div", { id: "manager-record", "data-elder": id },
    section(title,
      h("p", {}, targets),
      h("div", { class: "actions" },
        h("a", { href: `#/elder/${id}`, class: "button secondary" }, t("manager.record.full")),
        h("a", { href: `#/m/plan/${id}`, class: "button" }, t("manager.caseload.plan")))),
    section(t("manager.record.adl"), table(t("manager.record.adl"),
      [t("manager.col.date"), t("manager.col.score"), t("manager.col.adl"), t("manager.col.by")],
      rec.adl_history.map((p) => h("tr", {}, h("td", {}, fmtDate(p.at)), h("td", {}, String(p.score)), h("td", {}, adlGroup(p.score)), h("td", {}, p.by ?? "—"))),
      "adl-history")),
    section(t("manager.record.consents"), table(t("manager.record.consents"),
      [t("manager.col.scope"), t("manager.col.given"), t("manager.col.withdrawn")],
      rec.consents.map((c) => h("tr", {}, h("td", {}, c.scope.join(", ")), h("td", {}, fmtDate(c.given_on)), h("td", {}, c.withdrawn_on ? fmtDate(c.withdrawn_on) : "—"))),
      "consents")),
    section(t("manager.record.devices"), table(t("manager.record.devices"),
      [t("manager.col.device"), t("manager.col.last_seen"), t("manager.col.battery"), t("manager.col.offline_since")],
      rec.devices.map((d) => h("tr", { "data-device": d.id },
        h("td", {}, [d.kind, d.label, d.model].filter(Boolean).join(" · ")),
        h("td", {}, d.last_seen_at ? fmtDateTime(d.last_seen_at) : "—"),
        h("td", {}, d.battery === null ? "—" : `${d.battery}%`),
        h("td", {}, d.offline_since ? fmtDateTime(d.offline_since) : "—"))),
      "devices")),
    section(t("manager.record.alerts"), rec.alerts.length === 0 ? h("p", { class: "muted" }, t("manager.record.none")) :
      h("ul", { class: "list", id: "alerts" }, rec.alerts.map((a) =>
        h("li", { "data-alert": a.id, "data-kind": a.kind, "data-status": a.status },
          h("p", {}, priorityBadge(a.priority), " ",
            h("span", { class: "alert-kind" }, named("alerts.kind", a.kind)), " · ",
            h("span", { class: "alert-status" }, named("alerts.status", a.status)), ` · ${fmtDateTime(a.occurred_at)}`),
          h("ol", { class: "timeline" }, a.events.map((ev) =>
            h("li", { "data-action": ev.action }, [fmtDateTime(ev.at), named("alerts.timeline", ev.action), ev.actor_name, ev.note].filter(Boolean).join(" · ")))))))));
}
