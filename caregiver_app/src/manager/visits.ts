// Visits overdue and due in the coming two weeks, grouped by caregiver or by community;
// a visit is reassigned here (a versioned edit of the visit, like any other).
import { h } from "../dom";
import { fmtDate, t } from "../i18n";
import { state } from "../state";
import { section } from "../views/common";
import { getJson, HttpError, nameOf, type Person, sendJson } from "./net";

interface DueVisit {
  id: string;
  version: number;
  elder_id: string;
  elder_name: string;
  community: string;
  role: string;
  reason: string;
  due_by: string | null;
  assigned_to: string | null;
  overdue: boolean;
}

interface DueVisits {
  visits: DueVisit[];
  people: Person[];
  caregivers: Person[];
}

const view = { group: "caregiver" };

function row(v: DueVisit, caregivers: Person[]): HTMLElement {
  const select = h("select", { "aria-label": t("manager.visits.assign_to", { name: v.elder_name }) },
    h("option", { value: "" }, t("manager.visits.nobody")),
    caregivers.map((p) => h("option", { value: p.id, selected: p.id === v.assigned_to }, p.name))) as HTMLSelectElement;
  const reassign = async (): Promise<void> => {
    try {
      const out = await sendJson<{ version: number; assigned_to: string | null }>(`/api/v1/visits/${v.id}`, "PATCH", {
        version: v.version, assigned_to: select.value || null,
      });
      v.version = out.version;
      v.assigned_to = out.assigned_to;
      state.flash(t("manager.visits.reassigned", { name: v.elder_name }));
    } catch (e) {
      state.flash(e instanceof HttpError ? e.message : t("manager.online_only"));
    }
  };
  return h("tr", { "data-visit": v.id, "data-overdue": String(v.overdue) },
    h("th", { scope: "row" }, h("a", { href: `#/m/record/${v.elder_id}` }, v.elder_name)),
    h("td", {}, v.community),
    h("td", {}, v.due_by ? fmtDate(v.due_by) : "—", " ", v.overdue ? h("span", { class: "flag flag-overdue" }, t("manager.flag.overdue")) : null),
    h("td", {}, select),
    h("td", {}, h("button", { type: "button", class: "secondary small reassign", onclick: () => void reassign() }, t("manager.visits.reassign"))));
}

export async function visitsView(): Promise<HTMLElement> {
  const data = await getJson<DueVisits>("/api/v1/manager/visits?days=14");
  const who = nameOf([...data.people, ...data.caregivers]);
  const body = h("div", { id: "due-visits", "data-count": data.visits.length });
  const draw = (): void => {
    const groups = new Map<string, DueVisit[]>();
    for (const v of data.visits) {
      const key = view.group === "community" ? v.community : who(v.assigned_to) || t("manager.visits.nobody");
      groups.set(key, [...(groups.get(key) ?? []), v]);
    }
    body.replaceChildren(...[...groups.entries()].sort(([a], [b]) => a.localeCompare(b, "th")).map(([name, visits]) =>
      h("div", { class: "group" },
        h("h3", {}, t("manager.visits.group", { name, overdue: visits.filter((v) => v.overdue).length, n: visits.length })),
        h("div", { class: "table-wrap" }, h("table", { class: "mtable" },
          h("caption", { class: "visually-hidden" }, name),
          h("thead", {}, h("tr", {}, [t("manager.col.elder"), t("manager.col.community"), t("manager.col.due"), t("manager.col.caregiver"), t("manager.col.action")]
            .map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", {}, visits.map((v) => row(v, data.caregivers))))))));
    if (data.visits.length === 0) body.replaceChildren(h("p", { class: "muted" }, t("manager.visits.none")));
  };
  const group = h("select", { id: "visits-group", onchange: (ev: Event) => {
    view.group = (ev.target as HTMLSelectElement).value;
    draw();
  } },
  h("option", { value: "caregiver", selected: view.group === "caregiver" }, t("manager.visits.by_caregiver")),
  h("option", { value: "community", selected: view.group === "community" }, t("manager.visits.by_community")));
  draw();
  return section(t("manager.visits.title"), h("label", { class: "inline" }, t("manager.visits.group_by"), group), body);
}
