// The review queue: sync conflicts and field workers' changes side by side (the value before
// both, theirs, ours), decided one field at a time. Every decision is audited on the server.
import { h } from "../dom";
import { fmtDateTime, t } from "../i18n";
import { state } from "../state";
import { section } from "../views/common";
import { getJson, HttpError, sendJson } from "./net";

interface FieldChoice {
  name: string;
  base: unknown;
  has_base: boolean;
  theirs: unknown;
  ours: unknown;
}

export interface QueueItem {
  id: string;
  kind: string;
  elder_id: string;
  elder_name: string;
  community: string;
  priority: string | null;
  raised_by_name: string | null;
  created_at: string;
  fields: FieldChoice[];
  readings: { observed_at: string; priority: string | null; values: Record<string, number> }[];
  detail: Record<string, unknown>;
}

type Choice = "theirs" | "ours" | "base";
const CHOICES: Choice[] = ["theirs", "ours", "base"];
const CHOICE_TEXT: Record<Choice, string> = {
  theirs: "manager.review.theirs",
  ours: "manager.review.ours",
  base: "manager.review.base",
};
const KIND_TEXT: Record<string, string> = {
  sync_conflict: "manager.kind.sync_conflict",
  volunteer_change: "manager.kind.volunteer_change",
};

export function fieldLabel(name: string): string {
  const key = `elder.${name}`;
  const text = t(key);
  return text === key ? name : text;
}

export function show(value: unknown): string {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "boolean") return t(value ? "common.yes" : "common.no");
  if (Array.isArray(value)) {
    return value.map((v) => (v && typeof v === "object" ? Object.values(v as Record<string, unknown>).filter(Boolean).join(" ") : String(v))).join("; ");
  }
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

// The first items open with their fields side by side; the rest open with a tap. A closed
// item costs the page nothing to lay out, so a queue of hundreds draws at once.
const OPEN_FIRST = 10;
const PAGE = 50;

function itemCard(item: QueueItem, open: boolean, remove: () => void): HTMLElement {
  const radios = (f: FieldChoice): HTMLElement =>
    h("fieldset", { class: "choice" },
      h("legend", { class: "visually-hidden" }, fieldLabel(f.name)),
      CHOICES.map((c) => h("label", { class: "check" },
        h("input", { type: "radio", name: `${item.id}:${f.name}`, value: c, checked: c === "ours", disabled: c === "base" && !f.has_base, "data-field": f.name }),
        t(CHOICE_TEXT[c]))));
  const rows = item.fields.map((f) =>
    h("tr", { "data-field": f.name },
      h("th", { scope: "row" }, fieldLabel(f.name)),
      h("td", { class: "base" }, f.has_base ? show(f.base) : t("manager.review.base_unknown")),
      h("td", { class: "theirs" }, show(f.theirs)),
      h("td", { class: "ours" }, show(f.ours)),
      h("td", {}, radios(f))));
  const note = h("input", { type: "text", name: "note", maxlength: 1000 }) as HTMLInputElement;
  const error = h("p", { class: "error", role: "alert", hidden: true });
  const card = h("details", { class: "card review-item", "data-review": item.id, "data-kind": item.kind, open });
  const setAll = (c: Choice): void => {
    for (const input of card.querySelectorAll<HTMLInputElement>(`input[type=radio][value=${c}]`)) if (!input.disabled) input.checked = true;
  };
  const save = async (): Promise<void> => {
    const choices: Record<string, Choice> = {};
    for (const input of card.querySelectorAll<HTMLInputElement>("input[type=radio]:checked")) choices[String(input.dataset.field)] = input.value as Choice;
    try {
      await sendJson(`/api/v1/manager/reviews/${item.id}/decide`, "POST", { choices, note: note.value.trim() || null });
      remove();
      state.flash(t("manager.review.decided", { name: item.elder_name }));
    } catch (e) {
      error.textContent = e instanceof HttpError ? e.message : t("manager.online_only");
      error.hidden = false;
    }
  };
  card.append(
    h("summary", {},
      h("h3", {}, `${item.elder_name} · ${t(KIND_TEXT[item.kind] ?? item.kind)}`),
      h("p", { class: "muted" }, [item.community, item.raised_by_name ? t("manager.review.raised_by", { name: item.raised_by_name }) : "", fmtDateTime(item.created_at)].filter(Boolean).join(" · "))),
    h("div", { class: "table-wrap" }, h("table", { class: "mtable side-by-side" },
      h("caption", { class: "visually-hidden" }, t("manager.review.compare")),
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, t("manager.review.field")),
        h("th", { scope: "col" }, t("manager.review.base")),
        h("th", { scope: "col" }, t("manager.review.theirs")),
        h("th", { scope: "col" }, t("manager.review.ours")),
        h("th", { scope: "col" }, t("manager.review.choice")))),
      h("tbody", {}, rows))),
    h("label", {}, t("manager.review.note"), note),
    error,
    h("div", { class: "actions" },
      h("button", { type: "button", class: "secondary", "data-all": "theirs", onclick: () => setAll("theirs") }, t("manager.review.accept_all")),
      h("button", { type: "button", class: "secondary", "data-all": "ours", onclick: () => setAll("ours") }, t("manager.review.keep_all")),
      h("button", { type: "button", class: "decide", onclick: () => void save() }, t("manager.review.save"))));
  return card;
}

export async function reviewsView(): Promise<HTMLElement> {
  performance.mark("reviews-start");
  const items = await getJson<QueueItem[]>("/api/v1/manager/reviews?kind=sync_conflict&kind=volunteer_change");
  performance.mark("reviews-fetched");
  // Fifty at a time, oldest first: the queue is worked from the top, and a page of Thai text
  // cards costs the tablet a quarter of drawing all two hundred.
  const list = h("div", { id: "review-list", "data-total": items.length });
  const empty = h("p", { class: "muted", id: "review-empty", hidden: items.length > 0 }, t("manager.review.empty"));
  const more = h("button", { type: "button", class: "secondary", id: "review-more" }) as HTMLButtonElement;
  let shown = 0;
  const counted = (): void => {
    list.dataset.count = String(list.children.length);
    empty.hidden = list.children.length > 0 || shown < items.length;
  };
  const next = (): void => {
    list.append(...items.slice(shown, shown + PAGE).map((item, i) => {
      const card = itemCard(item, shown + i < OPEN_FIRST, () => {
        card.remove();
        counted();
      });
      return card;
    }));
    shown = Math.min(items.length, shown + PAGE);
    more.hidden = shown >= items.length;
    more.textContent = t("manager.review.more", { n: items.length - shown });
    counted();
  };
  more.addEventListener("click", next);
  next();
  performance.mark("reviews-drawn");
  return section(t("manager.review.title"), h("p", { class: "muted" }, t("manager.review.explain")), empty, list, more);
}
