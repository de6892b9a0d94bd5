import type { Row } from "../db";
import { h } from "../dom";
import { t } from "../i18n";
import { type Assessment, type Priority } from "../triage";

export function elderName(e: Row): string {
  return [e.title, e.first_name, e.last_name].filter(Boolean).join(" ");
}

export function priorityBadge(p: Priority | string | null | undefined): HTMLElement {
  const key = p ? `priority.${p}` : "priority.none";
  return h("span", { class: `badge p-${p ?? "none"}` }, t(key));
}

export function reasonList(a: Assessment): HTMLElement {
  // The disclaimer and the NEWS2 "not validated" line are shown once on the page, not per row.
  const shown = a.reasons.filter(
    (r) => !["triage.decision_support", "triage.news2.not_validated_remote"].includes(r.key) && !r.key.startsWith("triage.news2.missing."),
  );
  return h("ul", { class: "reasons" }, shown.map((r) => h("li", {}, t(r.key, r.params))));
}

export function section(title: string, ...children: (Node | null)[]): HTMLElement {
  return h("section", { class: "card" }, h("h2", {}, title), ...children);
}

export function field(label: string, value: unknown): HTMLElement | null {
  if (value === null || value === undefined || value === "" || (Array.isArray(value) && value.length === 0)) return null;
  const text = Array.isArray(value) ? value.join(", ") : typeof value === "boolean" ? t(value ? "common.yes" : "common.no") : String(value);
  return h("div", { class: "field" }, h("span", { class: "label" }, label), h("span", {}, text));
}
