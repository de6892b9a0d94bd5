import { db, type Row } from "../db";
import { h } from "../dom";
import { fmtDate, t } from "../i18n";
import { elderName, section } from "./common";

const OPEN = ["scheduled", "in_progress"];

function mapLink(e: Row): HTMLElement | null {
  if (typeof e.latitude !== "number" || typeof e.longitude !== "number") return null;
  const href = `https://www.google.com/maps/search/?api=1&query=${e.latitude},${e.longitude}`;
  return h("a", { href, class: "button secondary", target: "_blank", rel: "noopener" }, t("today.map"));
}

export async function todayView(): Promise<HTMLElement> {
  const elders = new Map((await db.elders.toArray()).map((e) => [e.id, e]));
  const now = Date.now();
  const endOfToday = new Date();
  endOfToday.setHours(23, 59, 59, 999);
  const visits = (await db.visits.toArray())
    .filter((v) => OPEN.includes(String(v.status)) && elders.has(String(v.elder_id)))
    .filter((v) => !v.due_from || Date.parse(String(v.due_from)) <= endOfToday.getTime())
    .sort((a, b) => Date.parse(String(a.due_by ?? a.due_from ?? 0)) - Date.parse(String(b.due_by ?? b.due_from ?? 0)));
  const items = visits.map((v) => {
    const e = elders.get(String(v.elder_id)) as Row;
    const overdue = Boolean(v.overdue) || (v.due_by ? Date.parse(String(v.due_by)) < now : false);
    return h(
      "li",
      { class: `visit-item${overdue ? " overdue" : ""}`, "data-visit": v.id },
      h("div", {},
        h("strong", {}, elderName(e)),
        h("div", { class: "muted" }, `${String(e.community ?? "")} · ${t(`reason.${String(v.reason)}`)}`),
        h("div", {}, h("span", { class: `badge ${overdue ? "p-YELLOW" : "p-none"}` }, t(overdue ? "today.overdue" : "today.due")),
          v.due_by ? ` ${fmtDate(String(v.due_by))}` : ""),
      ),
      h("div", { class: "actions" }, mapLink(e), h("a", { href: `#/elder/${e.id}`, class: "button" }, t("today.open"))),
    );
  });
  const all = [...elders.values()].sort((a, b) => elderName(a).localeCompare(elderName(b), "th"));
  return h(
    "div",
    {},
    section(t("today.title"), items.length ? h("ul", { class: "list" }, items) : h("p", {}, t("today.none"))),
    section(
      t("today.all_elders"),
      h("ul", { class: "list" }, all.map((e) =>
        h("li", {}, h("a", { href: `#/elder/${e.id}`, class: "row-link" }, h("strong", {}, elderName(e)), h("span", { class: "muted" }, ` · ${String(e.community ?? "")}`))),
      )),
    ),
  );
}
