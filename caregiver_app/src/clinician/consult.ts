// One consultation, as a clinician opens it: the question, the voice notes (played from the
// server with range requests), the visit it came from, the readings around it, the elder's
// year of history, and the answer (text, spoken advice, targets, follow-up), then close.
import { request } from "../api";
import { drawChart, series } from "../chart";
import type { Row } from "../db";
import { h } from "../dom";
import { fmtDate, fmtDateTime, t } from "../i18n";
import { state } from "../state";
import type { Overrides } from "../triage";
import { field, priorityBadge, section } from "../views/common";
import { bands, CHARTS, readingsText } from "../views/elder";
import { type ConsultRow, urgencyBadge, waited } from "./queue";
import { type Recording, recorderPanel } from "./recorder";

interface VoiceNote {
  id: string;
  visit_id: string | null;
  consult_id: string | null;
  purpose: string;
  duration_s: number | null;
  recorded_at: string;
  stored: boolean;
}

interface HistoryOut {
  points: { observation_id: string; observed_at: string; code: string; value: number; unit: string }[];
  observations: { id: string; observed_at: string; priority: string | null; source: string }[];
}

interface Case {
  consult: ConsultRow;
  elder: {
    id: string; name: string; birth_date: string; community: string; lives_alone: boolean; mobility: string;
    fall_risk: boolean; chronic_conditions: string[]; medications: string | null; allergies: string | null; adl_score: number | null;
  };
  plan: { id: string; version: number; goals: string[]; targets: Overrides } | null;
  visit: Row | null;
  voice_notes: VoiceNote[];
  around: HistoryOut;
  history_days: number;
  history: [number, Record<string, number>][];
}

// The compact history as the chart code takes it: one row per reading set.
export function compactRows(history: [number, Record<string, number>][]): Row[] {
  return history.map(([at, values], i) => ({
    id: String(i),
    observed_at: new Date(at).toISOString(),
    readings: Object.entries(values).map(([code, value]) => ({ code, value })),
  }));
}

// The history as the chart code takes it: one row per observation with its readings.
export function historyRows(history: HistoryOut): Row[] {
  const byId = new Map<string, Row>();
  for (const o of history.observations) byId.set(o.id, { id: o.id, observed_at: o.observed_at, priority: o.priority, readings: [] });
  for (const p of history.points) {
    let row = byId.get(p.observation_id);
    if (!row) {
      row = { id: p.observation_id, observed_at: p.observed_at, priority: null, readings: [] };
      byId.set(p.observation_id, row);
    }
    (row.readings as { code: string; value: number; unit: string }[]).push({ code: p.code, value: p.value, unit: p.unit });
  }
  return [...byId.values()];
}

export function voiceUrl(note: VoiceNote): string {
  return note.consult_id
    ? `/api/v1/consults/${note.consult_id}/voice-notes/${note.id}`
    : `/api/v1/visits/${String(note.visit_id)}/voice-notes/${note.id}`;
}

function voiceLabel(note: VoiceNote): string {
  const key = note.purpose === "advice" ? "consult.voice_advice" : note.consult_id ? "consult.voice_question" : "consult.voice_visit";
  return `${t(key)} · ${fmtDateTime(note.recorded_at)}`;
}

function voiceList(notes: VoiceNote[]): HTMLElement {
  if (notes.length === 0) return h("p", { class: "muted" }, t("consult.no_voice"));
  return h("ul", { class: "list plain", id: "consult-voice" }, notes.map((n) => {
    const label = voiceLabel(n);
    return h("li", { "data-note": n.id, "data-purpose": n.purpose },
      h("div", {}, label, n.duration_s ? ` · ${t("consult.seconds", { n: n.duration_s })}` : ""),
      n.stored
        // preload=metadata: the browser asks for the first bytes only (a range request).
        ? h("audio", { controls: true, preload: "metadata", src: voiceUrl(n), "aria-label": label })
        : h("p", { class: "muted" }, t("consult.voice_not_uploaded")));
  }));
}

function readingsAround(c: Case): HTMLElement {
  const attached = new Set(c.consult.observation_ids);
  const rows = historyRows(c.around).sort((a, b) => Date.parse(String(b.observed_at)) - Date.parse(String(a.observed_at)));
  if (rows.length === 0) return h("p", { class: "muted" }, t("chart.no_data"));
  return h("ul", { class: "list", id: "consult-readings" }, rows.map((o) =>
    h("li", { class: `reading p-${String(o.priority ?? "none")}`, "data-observation": o.id, "data-attached": attached.has(o.id) ? "1" : null },
      h("div", {}, h("strong", {}, readingsText(o)), " ", priorityBadge(o.priority as string | null),
        attached.has(o.id) ? h("span", { class: "badge p-none" }, t("consult.attached")) : null),
      h("div", { class: "muted" }, fmtDateTime(String(o.observed_at))))));
}

function visitPart(visit: Row | null): HTMLElement | null {
  if (!visit) return null;
  const when = String(visit.ended_at ?? visit.started_at ?? visit.due_by ?? "");
  return section(t("consult.visit"),
    field(t("consult.visit_when"), when ? fmtDate(when) : null),
    field(t("consult.visit_status"), t(`consult.visit_status.${String(visit.status)}`)),
    field(t("visit.notes"), visit.notes),
    field(t("visit.problems"), visit.problems),
    field(t("visit.next_steps"), visit.next_steps),
    field("ADL", visit.adl_score));
}

function chartsPart(rows: Row[], targets: Overrides, historyDays: number): { el: HTMLElement; draw: () => Promise<void> } {
  const box = h("div", { class: "charts", id: "consult-charts" });
  const b = bands(targets);
  let days = historyDays;
  const draw = (): Promise<void> => {
    box.replaceChildren();
    // The card's inner width: main's and the card's padding (1rem each side) come off.
    const width = Math.min(1100, Math.max(300, (document.querySelector("main")?.clientWidth ?? 700) - 80));
    const drawn: Promise<void>[] = [];
    for (const c of CHARTS) {
      const data = series(rows, c.codes, days);
      const holder = h("div", { class: "chart", "data-chart": c.key, "data-points": data[0].length }, h("h3", {}, t(c.label)));
      box.append(holder);
      if (data[0].length === 0) {
        holder.append(h("p", { class: "muted" }, t("chart.no_data")));
        continue;
      }
      drawn.push(new Promise((resolve) => {
        drawChart(holder, data, c.codes.map((code) => t(`code.${code}`)), b[c.key], width, () => resolve());
      }));
      holder.append(h("p", { class: "muted small" }, `▇ ${t("chart.target")}`));
    }
    return Promise.all(drawn).then(() => undefined);
  };
  const buttons = [30, 90, 365].map((n) =>
    h("button", { type: "button", class: "secondary", "aria-pressed": String(n === days), "data-days": n, onclick: (ev: Event) => {
      days = n;
      for (const btn of buttons) btn.setAttribute("aria-pressed", String(btn === ev.currentTarget));
      void draw();
    } }, t("chart.days", { n })));
  return { el: section(t("elder.history"), h("div", { class: "actions" }, buttons), box), draw };
}

function numberInput(name: string, label: string, value: number | undefined): HTMLElement {
  return h("label", {}, label, h("input", { type: "number", name, inputmode: "numeric", value: value ?? "", step: "1" }));
}

function targetsFieldset(targets: Overrides): HTMLElement {
  return h("fieldset", { id: "answer-targets" }, h("legend", {}, t("consult.targets")),
    h("p", { class: "muted small" }, t("consult.targets_help")),
    h("div", { class: "grid" },
      numberInput("systolic_max", t("consult.systolic_max"), targets.bp_target?.systolic_max),
      numberInput("diastolic_max", t("consult.diastolic_max"), targets.bp_target?.diastolic_max),
      numberInput("spo2_low", t("consult.spo2_low"), targets.spo2_target?.low),
      numberInput("spo2_high", t("consult.spo2_high"), targets.spo2_target?.high),
      numberInput("glucose_low", t("consult.glucose_low"), targets.glucose_target?.low),
      numberInput("glucose_high", t("consult.glucose_high"), targets.glucose_target?.high)));
}

// The targets as the form now says them, or null if nothing was changed.
function readTargets(form: HTMLFormElement, current: Overrides): Overrides | null {
  const num = (name: string): number | null => {
    const raw = (form.elements.namedItem(name) as HTMLInputElement).value.trim();
    return raw === "" ? null : Number(raw);
  };
  const pair = <K extends string>(a: number | null, b: number | null, ka: K, kb: K): Record<K, number> | null =>
    a === null || b === null ? null : ({ [ka]: a, [kb]: b } as Record<K, number>);
  const next: Overrides = {
    ...current,
    bp_target: pair(num("systolic_max"), num("diastolic_max"), "systolic_max", "diastolic_max") as Overrides["bp_target"],
    spo2_target: pair(num("spo2_low"), num("spo2_high"), "low", "high") as Overrides["spo2_target"],
    glucose_target: pair(num("glucose_low"), num("glucose_high"), "low", "high") as Overrides["glucose_target"],
  };
  const same = (k: keyof Overrides): boolean => JSON.stringify(next[k] ?? null) === JSON.stringify(current[k] ?? null);
  return same("bp_target") && same("spo2_target") && same("glucose_target") ? null : next;
}

async function errorText(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { detail?: { message?: string } | { msg?: string }[] };
    if (Array.isArray(body.detail)) return body.detail.map((d) => d.msg ?? "").join(" ");
    return body.detail?.message ?? t("consult.send_failed");
  } catch {
    return t("consult.send_failed");
  }
}

function answerForm(c: Case, onDone: () => void): HTMLElement {
  const consult = c.consult;
  const targets = c.plan?.targets ?? {};
  let recording: Recording | null = null;
  let uploaded: { rec: Recording; id: string } | null = null;
  const message = h("p", { role: "status", id: "answer-status" });
  const form = h("form", { id: "answer-form", novalidate: true },
    h("label", {}, t("consult.advice"), h("textarea", { name: "advice", id: "answer-advice", rows: 4 })),
    h("h3", {}, t("consult.voice_answer")),
    recorderPanel((rec) => { recording = rec; }),
    c.plan ? targetsFieldset(targets) : h("p", { class: "muted" }, t("consult.no_plan")),
    h("label", {}, t("consult.follow_up"),
      h("select", { name: "follow_up", id: "answer-follow-up" },
        h("option", { value: "" }, t("consult.follow_up.none")),
        h("option", { value: "urgent_visit" }, t("consult.follow_up.urgent_visit")),
        h("option", { value: "alert" }, t("consult.follow_up.alert")))),
    h("div", { class: "actions" }, h("button", { type: "submit", id: "answer-send", class: "primary" }, t("consult.send_answer"))),
    message) as HTMLFormElement;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const send = form.querySelector("#answer-send") as HTMLButtonElement;
    const advice = (form.elements.namedItem("advice") as HTMLTextAreaElement).value.trim();
    const followUp = (form.elements.namedItem("follow_up") as HTMLSelectElement).value;
    const newTargets = c.plan ? readTargets(form, targets) : null;
    if (!advice && !recording && !newTargets && !followUp) {
      message.textContent = t("consult.answer_empty");
      return;
    }
    send.disabled = true;
    message.textContent = t("consult.sending");
    try {
      const body: Record<string, unknown> = { version: consult.version, voice_note_ids: [] };
      if (recording && uploaded?.rec === recording) body.voice_note_ids = [uploaded.id];
      else if (recording) {
        // The audio first: the answer names it. A retry of the answer does not send it again.
        const noteId = crypto.randomUUID();
        const params = new URLSearchParams({ id: noteId, purpose: "advice", duration_s: String(recording.seconds), recorded_at: new Date().toISOString() });
        const up = await request(`/api/v1/consults/${consult.id}/voice-notes?${params}`, {
          method: "POST", headers: { "Content-Type": recording.contentType }, body: recording.blob,
        });
        if (!up.ok) throw new Error(await errorText(up));
        uploaded = { rec: recording, id: noteId };
        body.voice_note_ids = [noteId];
      }
      if (advice) body.advice = advice;
      if (newTargets) body.targets = newTargets;
      if (followUp) body.follow_up = followUp;
      const res = await request(`/api/v1/consults/${consult.id}/answer`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      if (!res.ok) throw new Error(res.status === 409 ? t("consult.changed_meanwhile") : await errorText(res));
      state.flash(t("consult.answered"));
      onDone();
    } catch (error) {
      message.textContent = error instanceof Error && error.message ? error.message : t("consult.send_failed");
      send.disabled = false;
    }
  });
  return section(t("consult.answer"), form);
}

function answerShown(c: ConsultRow, notes: VoiceNote[]): HTMLElement | null {
  if (!c.answered_at) return null;
  const advice = notes.filter((n) => n.purpose === "advice");
  const outcome = c.outcome;
  return section(t("consult.answer"),
    c.advice ? h("p", { class: "question", id: "answer-text" }, c.advice) : null,
    advice.length ? voiceList(advice) : null,
    field(t("consult.answered_at"), fmtDateTime(c.answered_at)),
    outcome.targets_changed ? h("p", {}, t("consult.targets_changed")) : null,
    outcome.urgent_visit_id ? h("p", {}, t("consult.follow_up.urgent_visit")) : null,
    outcome.alert_id || outcome.alert ? h("p", {}, t("consult.follow_up.alert")) : null);
}

export async function consultView(id: string): Promise<HTMLElement> {
  const title = t("consult.title");
  if (!state.online) return section(title, h("p", {}, t("clinician.online_only")));
  const started = performance.now();
  const caseRes = await request(`/api/v1/consults/${id}/case`);
  if (!caseRes.ok) return section(title, h("p", { role: "alert" }, t(caseRes.status === 404 ? "consult.not_found" : "consult.load_failed")));
  const c = (await caseRes.json()) as Case;
  // A clinician opening a waiting question takes it into review: the caregiver's app shows
  // it after its next pull. The server makes the change once however often it is opened.
  if (c.consult.status === "requested" && state.session?.role === "clinician") {
    const reviewed = await request(`/api/v1/consults/${id}/review`, { method: "POST" });
    if (reviewed.ok) c.consult = { ...c.consult, ...((await reviewed.json()) as Partial<Case["consult"]>) };
  }
  const rows = compactRows(c.history);
  const consult = c.consult;
  const open = consult.status === "requested" || consult.status === "in_review";
  const rerender = (): void => state.render();
  const closeButton = consult.status === "closed" ? null : h("button", { type: "button", class: "secondary", id: "consult-close", onclick: async () => {
    const res = await request(`/api/v1/consults/${id}/close`, { method: "POST" });
    state.flash(t(res.ok ? "consult.closed" : "consult.send_failed"));
    rerender();
  } }, t("consult.close"));
  const age = Math.floor((Date.now() - Date.parse(c.elder.birth_date)) / (365.25 * 86400_000));
  const head = h("section", { class: "card", id: "consult-head", "data-status": consult.status },
    h("p", {}, h("a", { href: "#/", class: "row-link" }, `← ${t("consult.back")}`)),
    h("h1", {}, `${title}: ${c.elder.name}`),
    h("p", { class: "muted" }, `${t("common.age", { age })} · ${c.elder.community}`),
    h("div", {}, urgencyBadge(consult.urgency), " ", h("span", { class: "badge p-none" }, t(`consult.status.${consult.status}`)),
      consult.overdue ? h("span", { class: "badge p-YELLOW" }, t("consult.overdue")) : null),
    h("p", { class: "muted" }, `${t("consult.asked_at", { when: fmtDateTime(consult.created_at) })} · ${waited(consult.created_at)}`),
    h("h2", {}, t("consult.question")),
    h("p", { class: "question", id: "consult-question-text" }, consult.question),
    h("h2", {}, t("consult.voice")),
    voiceList(c.voice_notes.filter((n) => n.purpose !== "advice")),
    h("div", { class: "actions" }, closeButton));
  const tg = c.plan?.targets ?? {};
  const elderPart = section(t("consult.elder"),
    field(t("elder.conditions"), c.elder.chronic_conditions),
    field(t("elder.medicines"), c.elder.medications),
    field(t("elder.allergies"), c.elder.allergies),
    field(t("elder.lives_alone"), c.elder.lives_alone),
    field("ADL", c.elder.adl_score),
    c.plan ? field(t("elder.goals"), c.plan.goals) : null,
    field(t("elder.targets"), [
      tg.bp_target ? `${t("code.systolic")}/${t("code.diastolic")} ≤ ${tg.bp_target.systolic_max}/${tg.bp_target.diastolic_max}` : "",
      tg.spo2_target ? `SpO2 ${tg.spo2_target.low}–${tg.spo2_target.high}` : "",
      tg.glucose_target ? `${t("code.glucose")} ${tg.glucose_target.low}–${tg.glucose_target.high}` : "",
    ].filter(Boolean)));
  const charts = chartsPart(rows, tg, c.history_days);
  const page = h("div", { id: "consult", "data-consult": id },
    head,
    answerShown(consult, c.voice_notes),
    open && state.session?.role === "clinician" ? answerForm(c, rerender) : null,
    section(t("consult.readings_around"), readingsAround(c)),
    visitPart(c.visit),
    elderPart,
    charts.el);
  // Drawn once the page is in the document (uPlot measures its container).
  const finished = (): void => {
    if (!page.isConnected) {
      requestAnimationFrame(finished);
      return;
    }
    page.dataset.openMs = String(Math.round(performance.now() - started));
    page.dataset.ready = "1";
    performance.mark("consult-open");
  };
  queueMicrotask(() => void charts.draw().then(finished));
  return page;
}
