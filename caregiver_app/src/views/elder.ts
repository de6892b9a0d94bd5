import RULES from "../../generated/triage-rules.json";
import { type Band, drawChart, series } from "../chart";
import { db, elderReadings, type Row } from "../db";
import { h } from "../dom";
import { fmtDate, fmtDateTime, t } from "../i18n";
import { state } from "../state";
import { assessVitals, type Overrides } from "../triage";
import { consultAnswers } from "../clinician/answers";
import { openVisits, startVisit } from "./visit";
import { elderName, field, priorityBadge, reasonList, section } from "./common";

// The band where NEWS2 gives 0 points: "normal" for pulse and SpO2, from the rule set.
function zeroBand(ladder: { steps: number[][]; above: number }): Band | null {
  let low = -Infinity;
  for (const [upper, pts] of ladder.steps) {
    if (pts === 0) return { low: low + 1, high: upper };
    low = upper;
  }
  return ladder.above === 0 ? { low: low + 1, high: 100 } : null;
}

export function bands(targets: Overrides): Record<string, Band | null> {
  const g = RULES.glucose;
  const bp = RULES.blood_pressure;
  return {
    bp: targets.bp_target
      ? { low: bp.hypotension_systolic_max, high: targets.bp_target.systolic_max }
      : { low: bp.hypotension_systolic_max, high: bp.follow_up_systolic_min - 1 },
    spo2: targets.spo2_target ? { low: targets.spo2_target.low, high: targets.spo2_target.high } : zeroBand(RULES.news2.spo2_scale_1),
    pulse: zeroBand(RULES.news2.pulse),
    glucose: targets.glucose_target
      ? { low: targets.glucose_target.low, high: targets.glucose_target.high }
      : { low: g.default_target_low, high: g.default_target_high },
  };
}

export const CHARTS: { key: string; codes: string[]; label: string }[] = [
  { key: "bp", codes: ["systolic", "diastolic"], label: "chart.bp" },
  { key: "spo2", codes: ["spo2"], label: "chart.spo2" },
  { key: "pulse", codes: ["pulse"], label: "chart.pulse" },
  { key: "glucose", codes: ["glucose"], label: "chart.glucose" },
];

export function readingsText(o: Row): string {
  const rs = (o.readings as { code: string; value: number; unit: string }[]) ?? [];
  return rs.map((r) => `${t(`code.${r.code}`)} ${r.value}`).join(" · ");
}

export async function elderView(id: string): Promise<HTMLElement> {
  const e = await db.elders.get(id);
  if (!e) return h("p", {}, t("elder.none"));
  const plan = (await db.care_plans.where("elder_id").equals(id).toArray())[0];
  const targets = ((plan?.targets as Overrides) ?? {}) as Overrides;
  const obs = (await elderReadings(id)).sort(
    (a, b) => Date.parse(String(b.observed_at)) - Date.parse(String(a.observed_at)),
  );
  const visits = (await db.visits.where("elder_id").equals(id).toArray()).sort(
    (a, b) => Date.parse(String(b.ended_at ?? b.due_by ?? 0)) - Date.parse(String(a.ended_at ?? a.due_by ?? 0)),
  );
  const draft = (await db.drafts.where("elder_id").equals(id).toArray())[0];
  const contacts = (e.emergency_contacts as Row[] | null) ?? [];
  const volunteer = state.session?.role === "volunteer";

  const head = h(
    "section",
    { class: "card elder-head" },
    h("h1", {}, elderName(e)),
    h("p", { class: "muted" }, [e.age ? t("common.age", { age: Number(e.age) }) : "", String(e.community ?? "")].filter(Boolean).join(" · ")),
    h(
      "div",
      { class: "actions" },
      volunteer
        ? null
        : h("button", { type: "button", id: "start-visit", onclick: async (ev: Event) => {
            // With more than one visit due, the caregiver says which one this visit logs.
            const open = draft ? [] : await openVisits(id);
            if (open.length < 2) return startVisit(id);
            (ev.target as HTMLElement).replaceWith(visitChoice(id, open));
          } }, t(draft ? "elder.continue_visit" : "elder.start_visit")),
      h("a", { href: `#/contact/${id}`, class: "button secondary", id: "edit-contact" }, t("elder.edit_contact")),
    ),
  );
  const contactList = h(
    "ul",
    { class: "list" },
    e.phone ? h("li", {}, h("a", { href: `tel:${String(e.phone)}`, class: "tel" }, `${t("elder.phone")}: ${String(e.phone)}`)) : null,
    contacts.map((c) =>
      h("li", {}, h("a", { href: `tel:${String(c.phone)}`, class: "tel" }, `${String(c.name)}${c.relation ? ` (${String(c.relation)})` : ""}: ${String(c.phone)}`)),
    ),
  );
  const parts: (HTMLElement | null)[] = [
    head,
    section(
      t("elder.contacts"),
      contactList,
      field(t("elder.address"), e.address),
      field(t("elder.access_notes"), e.access_notes),
      field(t("elder.lives_alone"), e.lives_alone),
      field(t("elder.has_carer"), e.has_carer),
    ),
  ];
  if (volunteer) return h("div", {}, parts);

  const devices = ((e.devices as Row[] | null) ?? []).map((d) => String(d.kind ?? d.model ?? d.id));
  parts.push(
    section(
      t("elder.conditions"),
      field(t("elder.conditions"), e.chronic_conditions),
      field(t("elder.medicines"), e.medications),
      field(t("elder.allergies"), e.allergies),
      field(t("elder.devices"), devices),
    ),
  );
  if (plan) {
    const tg: string[] = [];
    if (targets.bp_target) tg.push(`BP ≤ ${targets.bp_target.systolic_max}/${targets.bp_target.diastolic_max}`);
    if (targets.spo2_target) tg.push(`SpO2 ${targets.spo2_target.low}–${targets.spo2_target.high}`);
    if (targets.glucose_target) tg.push(`${t("code.glucose")} ${targets.glucose_target.low}–${targets.glucose_target.high}`);
    parts.push(
      section(
        t("elder.plan"),
        field(t("elder.goals"), plan.goals),
        field(t("elder.measure"), ((plan.measurements as string[]) ?? []).map((m) => t(`code.${m}`))),
        field(t("elder.targets"), tg),
      ),
    );
  }
  const latest = obs.slice(0, 5).map((o) => {
    const readings: Record<string, number> = {};
    for (const r of (o.readings as { code: string; value: number }[]) ?? []) readings[r.code] = r.value;
    const a = assessVitals(readings, { overrides: targets });
    return h("li", { class: `reading p-${String(o.priority ?? a.priority ?? "none")}` },
      h("div", {}, h("strong", {}, readingsText(o)), " ", priorityBadge((o.priority as string | null) ?? a.priority)),
      h("div", { class: "muted" }, fmtDateTime(String(o.observed_at))),
      reasonList(a));
  });
  parts.push(section(t("elder.latest"), latest.length ? h("ul", { class: "list" }, latest) : h("p", {}, t("chart.no_data")),
    h("p", { class: "muted small" }, t("triage.decision_support"))));

  const chartBox = h("div", { class: "charts" });
  const b = bands(targets);
  let days = 90;
  const draw = (): void => {
    chartBox.replaceChildren();
    // The card's inner width: main's and the card's padding (1rem each side) come off.
    const width = Math.min(1100, Math.max(300, (document.querySelector("main")?.clientWidth ?? 700) - 80));
    for (const c of CHARTS) {
      const data = series(obs, c.codes, days);
      const holder = h("div", { class: "chart", "data-chart": c.key }, h("h3", {}, t(c.label)));
      chartBox.append(holder);
      if (data[0].length === 0) {
        holder.append(h("p", { class: "muted" }, t("chart.no_data")));
        continue;
      }
      const started = performance.now();
      drawChart(holder, data, c.codes.map((code) => t(`code.${code}`)), b[c.key], width, () => {
        holder.dataset.drawMs = String(performance.now() - started);
      });
      holder.append(h("p", { class: "muted small" }, `▇ ${t("chart.target")}`));
    }
  };
  const buttons = [30, 90, 365].map((n) =>
    h("button", { type: "button", class: "secondary", "aria-pressed": String(n === days), "data-days": n, onclick: (ev: Event) => {
      days = n;
      for (const btn of buttons) btn.setAttribute("aria-pressed", String(btn === ev.currentTarget));
      draw();
    } }, t("chart.days", { n })),
  );
  parts.push(section(t("elder.history"), h("div", { class: "actions" }, buttons), chartBox));
  queueMicrotask(draw);

  parts.push(
    section(t("elder.past_visits"), h("ul", { class: "list" }, visits.slice(0, 10).map((v) =>
      h("li", {}, `${fmtDate(String(v.ended_at ?? v.due_by ?? v.started_at ?? new Date().toISOString()))} · ${t(`reason.${String(v.reason ?? "unscheduled")}`)} · ${String(v.status)}${v.adl_score !== null && v.adl_score !== undefined ? ` · ADL ${String(v.adl_score)}` : ""}`)))),
    await consultAnswers(id),
  );
  return h("div", {}, parts);
}

function visitChoice(elderId: string, open: Row[]): HTMLElement {
  const now = Date.now();
  return h("fieldset", { class: "stack", id: "visit-choice" }, h("legend", {}, t("visit.choose")),
    open.map((v) => {
      const overdue = Boolean(v.overdue) || (v.due_by ? Date.parse(String(v.due_by)) < now : false);
      return h("button", { type: "button", class: "secondary", "data-visit": v.id, onclick: async () => startVisit(elderId, v.id) },
        t(`reason.${String(v.reason)}`), " · ", t(overdue ? "today.overdue" : "today.due"), v.due_by ? ` ${fmtDate(String(v.due_by))}` : "");
    }),
    h("button", { type: "button", class: "secondary", "data-visit": "", onclick: async () => startVisit(elderId, null) }, t("visit.unscheduled")));
}
