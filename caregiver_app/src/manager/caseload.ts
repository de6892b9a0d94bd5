// The caseload: every elder the care manager looks after, with what puts them at risk now,
// sorted and filtered on the tablet (300 rows are drawn at once; no paging to get lost in).
import { h } from "../dom";
import { fmtDate, t } from "../i18n";
import { section } from "../views/common";
import type { Map as LeafletMap } from "leaflet";
import { getJson, nameOf, type Person } from "./net";

interface CaseloadElder {
  id: string;
  name: string;
  community: string;
  status: string;
  adl_score: number | null;
  adl_group: string | null;
  mobility: string;
  latitude: number | null;
  longitude: number | null;
  caregiver_id: string | null;
  flags: string[];
  red: number;
  yellow: number;
  open_followups: number;
  open_reviews: number;
  overdue_visits: number;
  next_due: string | null;
  last_reading_at: string | null;
}

interface Caseload {
  elders: CaseloadElder[];
  communities: string[];
  people: Person[];
  recent_days: number;
}

// The most pressing first: a recent RED outweighs everything below it, and so on down.
const WEIGHT: Record<string, number> = { red: 32, overdue: 16, yellow: 8, followup: 4, alone: 2, bedbound: 1 };
const FLAG_TEXT: Record<string, string> = {
  red: "manager.flag.red",
  overdue: "manager.flag.overdue",
  yellow: "manager.flag.yellow",
  followup: "manager.flag.followup",
  alone: "manager.flag.alone",
  bedbound: "manager.flag.bedbound",
};
const ADL_TEXT: Record<string, string> = {
  social_bound: "manager.adl.social",
  home_bound: "manager.adl.home",
  bed_bound: "manager.adl.bed",
};
const STATUS_TEXT: Record<string, string> = {
  applicant: "manager.status.applicant",
  enrolled: "manager.status.enrolled",
  paused: "manager.status.paused",
};

// One collator for every comparison: localeCompare(x, "th") makes a new one each call.
const byThai = new Intl.Collator("th").compare;

function risk(e: CaseloadElder): number {
  return e.flags.reduce((sum, f) => sum + (WEIGHT[f] ?? 0), 0);
}

export function flagBadges(flags: string[]): HTMLElement {
  return h("ul", { class: "flags" }, flags.map((f) => h("li", { class: `flag flag-${f}`, "data-flag": f }, t(FLAG_TEXT[f] ?? f))));
}

function labelled(label: string, control: HTMLElement): HTMLElement {
  return h("label", { class: "inline" }, label, control);
}

function options(values: [string, string][], selected: string): HTMLElement[] {
  return values.map(([value, text]) => h("option", { value, selected: value === selected }, text));
}

const view = { community: "", flag: "", sort: "risk", mode: "list" };
// The one map on screen: removed before another is drawn (it listens on the window).
let current: LeafletMap | null = null;

function dropMap(): void {
  current?.remove();
  current = null;
}

// Leaflet measures its box, so the map is drawn once the screen is in the page.
async function inPage(el: HTMLElement): Promise<boolean> {
  for (let i = 0; i < 120 && !el.isConnected; i++) await new Promise((r) => requestAnimationFrame(r));
  return el.isConnected;
}

export async function caseloadView(): Promise<HTMLElement> {
  performance.mark("caseload-start");
  const data = await getJson<Caseload>("/api/v1/manager/caseload");
  performance.mark("caseload-fetched");
  const carer = nameOf(data.people);
  const rows = h("div", { role: "rowgroup", class: "rows" });
  const count = h("p", { class: "muted", id: "caseload-count", role: "status" });
  // A grid of rows with table roles rather than a <table>: each row can skip layout while
  // off screen (content-visibility), which a table row cannot; 300 rows draw as fast as 20.
  const table = h("div", { role: "table", class: "ctable", id: "caseload-table", "aria-label": t("manager.caseload.title") },
    h("div", { role: "rowgroup" }, h("div", { role: "row", class: "crow head" },
      [t("manager.col.elder"), t("manager.col.community"), t("manager.col.status"), t("manager.col.adl"),
        t("manager.col.flags"), t("manager.col.next_due"), t("manager.col.caregiver"), t("manager.col.open")]
        .map((c) => h("span", { role: "columnheader" }, c)))),
    rows);

  const flagText = (f: string): string => t(FLAG_TEXT[f] ?? f);
  const statusText = (s: string): string => t(STATUS_TEXT[s] ?? s);
  const listPart = h("div", { class: "table-wrap", id: "caseload-list", hidden: view.mode !== "list" }, table);
  const mapBox = h("div", { id: "caseload-map", class: "cmap", role: "region", "aria-label": t("manager.map.title") });
  const unplaced = h("p", { class: "muted", id: "map-unplaced" });
  const legend = h("ul", { class: "map-legend", "aria-label": t("manager.map.legend") },
    [...Object.keys(FLAG_TEXT), "none"].map((f) => h("li", {},
      h("span", { class: `pin pin-${f}`, "aria-hidden": "true" }, t(`manager.map.short.${f}`)),
      " ", f === "none" ? t("manager.map.no_flag") : flagText(f))));
  const mapPart = h("div", { id: "caseload-map-part", hidden: view.mode !== "map" },
    h("p", { class: "muted" }, t("manager.map.explain")), mapBox, unplaced, legend);

  const draw = (): void => {
    const shown = data.elders
      .filter((e) => !view.community || e.community === view.community)
      .filter((e) => !view.flag || e.flags.includes(view.flag))
      .sort((a, b) => {
        if (view.sort === "name") return byThai(a.name, b.name);
        if (view.sort === "community") return byThai(a.community, b.community) || byThai(a.name, b.name);
        if (view.sort === "due") return Date.parse(a.next_due ?? "9999") - Date.parse(b.next_due ?? "9999");
        return risk(b) - risk(a) || byThai(a.name, b.name);
      });
    rows.replaceChildren(...shown.map((e) =>
      h("div", { role: "row", class: "crow", "data-elder": e.id, "data-risk": risk(e) },
        h("span", { role: "rowheader" }, h("a", { href: `#/m/record/${e.id}` }, e.name)),
        h("span", { role: "cell" }, e.community),
        h("span", { role: "cell" }, t(STATUS_TEXT[e.status] ?? e.status)),
        h("span", { role: "cell" }, e.adl_group ? `${t(ADL_TEXT[e.adl_group])} (${e.adl_score})` : "—"),
        h("span", { role: "cell" }, flagBadges(e.flags)),
        h("span", { role: "cell" }, e.next_due ? fmtDate(e.next_due) : "—"),
        h("span", { role: "cell" }, carer(e.caregiver_id) || "—"),
        h("span", { role: "cell" }, h("a", { href: `#/m/plan/${e.id}`, class: "button secondary small" }, t("manager.caseload.plan"))))));
    count.textContent = t("manager.caseload.count", { n: shown.length, total: data.elders.length });
    table.dataset.count = String(shown.length);
    dropMap();
    if (view.mode === "map") {
      const missing = shown.filter((e) => e.latitude === null || e.longitude === null).length;
      unplaced.textContent = missing ? t("manager.map.unplaced", { n: missing }) : "";
      // The map's code (Leaflet) loads when a map is first asked for: a caregiver's tablet
      // never parses it.
      void (async () => {
        const { drawMap } = await import("./map");
        if (!(await inPage(mapBox)) || view.mode !== "map") return;
        dropMap();
        current = drawMap(mapBox, shown, flagText, statusText);
      })();
    }
  };

  const modeButton = (mode: string, label: string): HTMLElement =>
    h("button", { type: "button", class: "secondary", id: `show-${mode}`, "aria-pressed": String(view.mode === mode), onclick: () => {
      view.mode = mode;
      listPart.hidden = mode !== "list";
      mapPart.hidden = mode !== "map";
      for (const b of modes.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.id === `show-${mode}`));
      draw();
    } }, label);
  const modes = h("div", { class: "actions", role: "group", "aria-label": t("manager.map.show_as") },
    modeButton("list", t("manager.map.as_list")), modeButton("map", t("manager.map.as_map")));

  const community = h("select", { id: "community-filter", onchange: (ev: Event) => {
    view.community = (ev.target as HTMLSelectElement).value;
    draw();
  } }, options([["", t("manager.caseload.all_communities")], ...data.communities.map((c): [string, string] => [c, c])], view.community));
  const flag = h("select", { id: "flag-filter", onchange: (ev: Event) => {
    view.flag = (ev.target as HTMLSelectElement).value;
    draw();
  } }, options([["", t("manager.caseload.any_flag")], ...Object.keys(FLAG_TEXT).map((f): [string, string] => [f, t(FLAG_TEXT[f])])], view.flag));
  const sort = h("select", { id: "caseload-sort", onchange: (ev: Event) => {
    view.sort = (ev.target as HTMLSelectElement).value;
    draw();
  } }, options([["risk", t("manager.sort.risk")], ["name", t("manager.sort.name")], ["community", t("manager.sort.community")], ["due", t("manager.sort.due")]], view.sort));
  draw();
  performance.mark("caseload-drawn");
  return h("div", { id: "caseload" },
    section(t("manager.caseload.title"),
      h("p", { class: "muted" }, t("manager.caseload.recent", { days: data.recent_days })),
      h("div", { class: "filters" },
        labelled(t("manager.caseload.community"), community),
        labelled(t("manager.caseload.flag"), flag),
        labelled(t("manager.caseload.sort"), sort)),
      modes,
      count,
      listPart,
      mapPart));
}
