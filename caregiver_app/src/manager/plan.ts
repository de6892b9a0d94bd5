// The care plan editor: goals, problems, visit frequency per role, what to measure, personal
// targets (inside the rule set's bounds, shown with the default they override and who set
// them) and the assigned caregiver and volunteer. Changing a target recolours the last 30
// days of readings under it, with the app's own triage, before anything is saved.
import RULES from "../../generated/triage-rules.json";
import { db, elderReadings, type Row } from "../db";
import { h } from "../dom";
import { fmtDate, fmtDateTime, t } from "../i18n";
import { state } from "../state";
import { assessVitals, type Overrides, type Priority } from "../triage";
import { elderName, priorityBadge, section } from "../views/common";
import { getJson, HttpError, sendJson } from "./net";
import type { ManagerRecord } from "./record";

const ROLES = ["caregiver", "care_manager", "volunteer", "clinician"] as const;
const ROLE_TEXT: Record<string, string> = {
  caregiver: "manager.role.caregiver",
  care_manager: "manager.role.care_manager",
  volunteer: "manager.role.volunteer",
  clinician: "manager.role.clinician",
};
const MEASURES = ["systolic", "diastolic", "pulse", "spo2", "glucose", "temperature", "respiration_rate", "consciousness", "adl"];
const MEASURE_TEXT: Record<string, string> = {
  consciousness: "manager.plan.consciousness",
  adl: "manager.plan.adl",
};
const PREVIEW_DAYS = 30;

const limits = RULES.override_limits;
// The personal targets the editor offers, each with the rule set's bounds and its default.
const TARGETS: { name: string; group: "bp_target" | "glucose_target" | "spo2_target"; key: string; bounds: number[]; fallback: number | null }[] = [
  { name: "bp_systolic_max", group: "bp_target", key: "systolic_max", bounds: limits.bp_systolic_max, fallback: RULES.blood_pressure.follow_up_systolic_min - 1 },
  { name: "bp_diastolic_max", group: "bp_target", key: "diastolic_max", bounds: limits.bp_diastolic_max, fallback: null },
  { name: "glucose_low", group: "glucose_target", key: "low", bounds: limits.glucose_target, fallback: RULES.glucose.default_target_low },
  { name: "glucose_high", group: "glucose_target", key: "high", bounds: limits.glucose_target, fallback: RULES.glucose.default_target_high },
  { name: "spo2_low", group: "spo2_target", key: "low", bounds: limits.spo2_target, fallback: null },
  { name: "spo2_high", group: "spo2_target", key: "high", bounds: limits.spo2_target, fallback: null },
];
const TARGET_TEXT: Record<string, string> = {
  bp_systolic_max: "manager.plan.bp_systolic_max",
  bp_diastolic_max: "manager.plan.bp_diastolic_max",
  glucose_low: "manager.plan.glucose_low",
  glucose_high: "manager.plan.glucose_high",
  spo2_low: "manager.plan.spo2_low",
  spo2_high: "manager.plan.spo2_high",
};

function lines(text: string): string[] {
  return text.split("\n").map((s) => s.trim()).filter(Boolean);
}

function targetValue(targets: Overrides, group: string, key: string): number | null {
  const g = (targets as Record<string, unknown>)[group] as Record<string, number> | null | undefined;
  return g && typeof g[key] === "number" ? g[key] : null;
}

/** The targets the form says; a pair left half empty is not a target. */
function formTargets(form: HTMLFormElement, source: string): Overrides {
  const num = (name: string): number | null => {
    const raw = (form.elements.namedItem(name) as HTMLInputElement).value.trim();
    return raw === "" ? null : Number(raw);
  };
  const out: Record<string, unknown> = { source };
  const s = num("bp_systolic_max"), d = num("bp_diastolic_max");
  if (s !== null && d !== null) out.bp_target = { systolic_max: s, diastolic_max: d };
  const gl = num("glucose_low"), gh = num("glucose_high");
  if (gl !== null && gh !== null) out.glucose_target = { low: gl, high: gh };
  const ol = num("spo2_low"), oh = num("spo2_high");
  if (ol !== null && oh !== null) out.spo2_target = { low: ol, high: oh };
  return out as Overrides;
}

function values(o: Row): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of (o.readings as { code: string; value: number }[]) ?? []) out[r.code] = r.value;
  return out;
}

function colour(o: Row, overrides: Overrides): Priority | null {
  return assessVitals(values(o), { overrides, onOxygen: Boolean(o.on_oxygen), consciousness: (o.consciousness as string | null) ?? null }).priority;
}

function previewTable(observations: Row[], current: Overrides, proposed: Overrides): HTMLElement {
  let changed = 0;
  const rows = observations.map((o) => {
    const before = colour(o, current);
    const after = colour(o, proposed);
    if (before !== after) changed += 1;
    return h("tr", { "data-obs": o.id, "data-now": before ?? "none", "data-new": after ?? "none", class: before !== after ? "changed" : null },
      h("td", {}, fmtDateTime(String(o.observed_at))),
      h("td", {}, Object.entries(values(o)).map(([c, v]) => `${t(`code.${c}`)} ${v}`).join(" · ")),
      h("td", {}, priorityBadge(before)),
      h("td", {}, priorityBadge(after)));
  });
  return h("div", { id: "target-preview", "data-changed": changed, "data-count": observations.length },
    h("p", { role: "status" }, t("manager.plan.preview_changed", { n: changed, total: observations.length, days: PREVIEW_DAYS })),
    observations.length === 0 ? null : h("div", { class: "table-wrap" }, h("table", { class: "mtable" },
      h("caption", { class: "visually-hidden" }, t("manager.plan.preview")),
      h("thead", {}, h("tr", {}, [t("manager.col.date"), t("manager.col.readings"), t("manager.plan.now"), t("manager.plan.new")].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, rows))));
}

export async function planView(elderId: string): Promise<HTMLElement> {
  const [plans, rec] = await Promise.all([
    getJson<Row[]>(`/api/v1/care-plans?elder_id=${elderId}`),
    getJson<ManagerRecord>(`/api/v1/manager/elders/${elderId}/record`),
  ]);
  const plan = plans[0] as Row | undefined;
  const elder = await db.elders.get(elderId);
  const title = `${t("manager.plan.title")}: ${elder ? elderName(elder) : ""}`;
  const current = ((plan?.targets as Overrides | undefined) ?? {}) as Overrides;
  const since = Date.now() - PREVIEW_DAYS * 86400_000;
  const observations = (await elderReadings(elderId))
    .filter((o) => Date.parse(String(o.observed_at)) >= since)
    .sort((a, b) => Date.parse(String(b.observed_at)) - Date.parse(String(a.observed_at)));

  const freq = (role: string): string => {
    const f = ((plan?.frequencies as { role: string; every_days: number }[]) ?? []).find((x) => x.role === role);
    return f ? String(f.every_days) : "";
  };
  const window = (role: string): number =>
    ((plan?.frequencies as { role: string; window_days?: number }[]) ?? []).find((x) => x.role === role)?.window_days ?? 1;
  const assigned: Record<string, string | null> = {
    caregiver_id: ((plan?.caregiver_id ?? elder?.caregiver_id) as string | null | undefined) ?? null,
    volunteer_id: ((plan?.volunteer_id ?? elder?.volunteer_id) as string | null | undefined) ?? null,
  };
  const measures = new Set((plan?.measurements as string[]) ?? []);
  const pick = (name: string, people: { id: string; name: string }[], selected: unknown): HTMLElement =>
    h("select", { name },
      h("option", { value: "" }, t("manager.visits.nobody")),
      people.map((p) => h("option", { value: p.id, selected: p.id === selected }, p.name)));
  const setBy = rec.targets.set_by
    ? t("manager.record.targets_set", { name: rec.targets.set_by, when: rec.targets.set_at ? fmtDate(rec.targets.set_at) : "" })
    : t("manager.record.targets_default");

  const preview = h("div", {});
  const error = h("p", { class: "error", role: "alert", id: "plan-error", hidden: true });
  const form = h("form", { class: "stack", id: "plan-form" },
    h("label", {}, t("manager.plan.goals"), h("textarea", { name: "goals", rows: 3 }, ((plan?.goals as string[]) ?? []).join("\n"))),
    h("label", {}, t("manager.plan.problems"), h("textarea", { name: "problems", rows: 3 }, ((plan?.problems as string[]) ?? []).join("\n"))),
    h("fieldset", {}, h("legend", {}, t("manager.plan.frequency")),
      ROLES.map((role) => h("label", { class: "inline" }, t(ROLE_TEXT[role]),
        h("input", { type: "number", name: `freq-${role}`, min: 1, max: 366, value: freq(role), inputmode: "numeric" })))),
    h("fieldset", {}, h("legend", {}, t("manager.plan.measure")),
      MEASURES.map((code) => h("label", { class: "check" },
        h("input", { type: "checkbox", name: "measure", value: code, checked: measures.has(code) }),
        MEASURE_TEXT[code] ? t(MEASURE_TEXT[code]) : t(`code.${code}`)))),
    h("fieldset", { id: "targets" }, h("legend", {}, t("manager.plan.targets")),
      h("p", { class: "muted" }, setBy),
      TARGETS.map((tg) => {
        const value = targetValue(current, tg.group, tg.key);
        return h("label", { class: "inline" }, t(TARGET_TEXT[tg.name]),
          h("input", { type: "number", name: tg.name, min: tg.bounds[0], max: tg.bounds[1], step: "any", value: value ?? "", inputmode: "decimal" }),
          h("span", { class: "muted small" }, t("manager.plan.bounds", { low: tg.bounds[0], high: tg.bounds[1] }),
            tg.fallback !== null ? ` · ${t("manager.plan.default", { value: tg.fallback })}` : ""));
      })),
    h("fieldset", {}, h("legend", {}, t("manager.plan.assign")),
      h("label", {}, t("manager.role.caregiver"), pick("caregiver_id", rec.caregivers, assigned.caregiver_id)),
      h("label", {}, t("manager.role.volunteer"), pick("volunteer_id", rec.volunteers, assigned.volunteer_id))),
    error,
    h("button", { type: "submit", id: "save-plan" }, t("manager.plan.save"))) as HTMLFormElement;

  const source = (): string => `care_plan:${String(plan?.id ?? "new")}`;
  const redraw = (): void => preview.replaceChildren(previewTable(observations, current, formTargets(form, source())));
  form.addEventListener("input", (ev) => {
    if ((ev.target as HTMLElement).closest("#targets")) redraw();
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const el = (name: string): string => ((form.elements.namedItem(name) as HTMLInputElement | null)?.value ?? "").trim();
    const targets = formTargets(form, source());
    const body: Record<string, unknown> = {
      goals: lines(el("goals")),
      problems: lines(el("problems")),
      frequencies: ROLES.filter((r) => el(`freq-${r}`) !== "").map((role) => ({
        role, every_days: Number(el(`freq-${role}`)), window_days: window(role),
      })),
      measurements: [...form.querySelectorAll<HTMLInputElement>("input[name=measure]:checked")].map((i) => i.value),
      targets: Object.keys(targets).length > 1 ? targets : null,
    };
    // Assignments are sent only when changed: a person missing from the lists (say, one
    // made inactive) is never unassigned by saving something else.
    for (const name of ["caregiver_id", "volunteer_id"]) {
      if ((el(name) || null) !== (assigned[name] ?? null)) body[name] = el(name) || null;
    }
    try {
      const saved = plan
        ? await sendJson<Row>(`/api/v1/care-plans/${plan.id}`, "PATCH", { ...body, version: plan.version })
        : await sendJson<Row>("/api/v1/care-plans", "POST", { ...body, elder_id: elderId });
      // The tablet triages its next reading with what was just saved.
      await db.care_plans.put(saved);
      state.flash(t("manager.plan.saved"));
      state.render();
    } catch (e) {
      error.textContent = e instanceof HttpError ? e.message : t("manager.online_only");
      error.hidden = false;
    }
  });
  redraw();
  return h("div", { id: "plan-editor", "data-elder": elderId },
    section(title, form),
    section(t("manager.plan.preview"), h("p", { class: "muted" }, t("manager.plan.preview_explain")), preview));
}
