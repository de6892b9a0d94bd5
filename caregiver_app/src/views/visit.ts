import { db, type Row, type VisitDraft } from "../db";
import { h } from "../dom";
import { fmtDateTime, t } from "../i18n";
import { amendWaiting, queue } from "../outbox";
import { canRecord, recordButton } from "../recorder";
import { go, state } from "../state";
import { assessVitals, type Overrides } from "../triage";
import { bluetoothPanel } from "./bluetooth";
import { priorityBadge, reasonList, section } from "./common";

export const BARTHEL: Record<string, number> = {
  feeding: 2, bathing: 1, grooming: 1, dressing: 2, bowels: 2,
  bladder: 2, toilet_use: 2, transfers: 3, mobility: 3, stairs: 2,
};
const VITALS: { code: string; unit: string; step: string; min: number; max: number }[] = [
  { code: "systolic", unit: "mm[Hg]", step: "1", min: 0, max: 400 },
  { code: "diastolic", unit: "mm[Hg]", step: "1", min: 0, max: 300 },
  { code: "pulse", unit: "/min", step: "1", min: 0, max: 400 },
  { code: "spo2", unit: "%", step: "1", min: 0, max: 100 },
  { code: "temperature", unit: "Cel", step: "0.1", min: 20, max: 50 },
  { code: "respiration_rate", unit: "/min", step: "1", min: 0, max: 100 },
  { code: "glucose", unit: "mg/dL", step: "1", min: 0, max: 2000 },
];
const ACVPU = ["alert", "new_confusion", "voice", "pain", "unresponsive"];
const STEPS = ["checklist", "vitals", "barthel", "notes", "finish"];

async function adlDue(elderId: string, plan: Row | undefined): Promise<boolean> {
  const every = plan?.adl_every_days as number | null | undefined;
  if (!every) return false;
  const done = (await db.visits.where("elder_id").equals(elderId).toArray())
    .filter((v) => v.adl_score !== null && v.adl_score !== undefined && v.ended_at)
    .map((v) => Date.parse(String(v.ended_at)));
  const last = done.length ? Math.max(...done) : 0;
  return Date.now() - last >= every * 86400_000;
}

/** This elder's open visits assigned to me, the most urgent (earliest due) first. */
export async function openVisits(elderId: string): Promise<Row[]> {
  const due = (v: Row): number => Date.parse(String(v.due_by ?? v.due_from ?? "9999-12-31"));
  return (await db.visits.where("elder_id").equals(elderId).toArray())
    .filter((v) => (v.status === "scheduled" || v.status === "in_progress") && v.assigned_to === state.session?.user_id)
    .sort((a, b) => due(a) - due(b));
}

/** Start (or go back to) a visit. `visitId`: the scheduled visit this one logs; null for an
 * unscheduled visit; left out, the most urgent open visit (or an unscheduled one). */
export async function startVisit(elderId: string, visitId?: string | null): Promise<void> {
  const existing = (await db.drafts.where("elder_id").equals(elderId).toArray())[0];
  if (existing) {
    go(`#/visit/${existing.id}`);
    return;
  }
  const plan = (await db.care_plans.where("elder_id").equals(elderId).toArray())[0];
  const open = await openVisits(elderId);
  const scheduled = visitId === null ? undefined : visitId === undefined ? open[0] : open.find((v) => v.id === visitId);
  const now = new Date().toISOString();
  const draft: VisitDraft = {
    id: scheduled ? scheduled.id : crypto.randomUUID(),
    elder_id: elderId,
    scheduled: Boolean(scheduled),
    base_version: scheduled ? Number(scheduled.version) : undefined,
    started_at: now,
    step: 0,
    checklist: ((plan?.checklist as string[]) ?? []).map((item) => ({ item, done: false })),
    adl_items: {},
    adl_due: await adlDue(elderId, plan),
    notes: "",
    problems: "",
    next_steps: "",
    observation_ids: [],
    voice_note_ids: [],
  };
  await db.drafts.put(draft);
  if (!scheduled) {
    await queue("visit", { elder_id: elderId, started_at: now, status: "in_progress", reason: "unscheduled" },
      { id: draft.id, group: draft.id, elder_id: elderId });
  }
  state.kick();
  go(`#/visit/${draft.id}`);
}

async function save(draft: VisitDraft): Promise<void> {
  await db.drafts.put(draft);
}

function stepsFor(draft: VisitDraft): string[] {
  return STEPS.filter((s) => s !== "barthel" || draft.adl_due || Object.keys(draft.adl_items).length > 0);
}

export async function visitView(id: string): Promise<HTMLElement> {
  const draft = await db.drafts.get(id);
  if (!draft) return h("p", {}, t("visit.finished"));
  const elder = await db.elders.get(draft.elder_id);
  const plan = (await db.care_plans.where("elder_id").equals(draft.elder_id).toArray())[0];
  const overrides = (plan?.targets as Overrides) ?? {};
  const steps = stepsFor(draft);
  const step = steps[Math.min(draft.step, steps.length - 1)];
  const body = h("div", { class: "visit-step", "data-step": step });
  const nav = h(
    "div",
    { class: "actions" },
    draft.step > 0 ? h("button", { type: "button", class: "secondary", id: "visit-back", onclick: async () => { draft.step -= 1; await save(draft); state.render(); } }, t("visit.back")) : null,
    step !== "finish" ? h("button", { type: "button", id: "visit-next", onclick: async () => { draft.step += 1; await save(draft); state.render(); } }, t("visit.next")) : null,
  );
  const progress = h("ol", { class: "stepper" }, steps.map((s, i) => h("li", { class: i === draft.step ? "current" : "", "aria-current": i === draft.step ? "step" : null }, t(`visit.step.${s}`))));

  if (step === "checklist") {
    body.append(
      h("p", {}, t("visit.started", { when: fmtDateTime(draft.started_at) })),
      h("ul", { class: "list checklist" }, draft.checklist.map((c, i) =>
        h("li", {}, h("label", { class: "check" },
          h("input", { type: "checkbox", checked: c.done, "data-item": i, onchange: async (ev: Event) => {
            draft.checklist[i].done = (ev.target as HTMLInputElement).checked;
            await save(draft);
          } }), c.item)))),
      !("geolocation" in navigator)
        ? ""
        : h("button", { type: "button", class: "secondary", id: "visit-location", onclick: (ev: Event) => {
            const btn = ev.currentTarget as HTMLButtonElement;
            navigator.geolocation.getCurrentPosition(async (pos) => {
              draft.latitude = pos.coords.latitude;
              draft.longitude = pos.coords.longitude;
              await save(draft);
              btn.textContent = t("visit.location_saved");
            }, () => undefined, { timeout: 10000 });
          } }, draft.latitude !== undefined ? t("visit.location_saved") : t("visit.location")),
    );
  } else if (step === "vitals") {
    const result = h("div", { class: "triage-live", "aria-live": "polite", id: "vitals-triage" });
    const inputs = VITALS.map((v) =>
      h("label", { class: "vital" }, t(`code.${v.code}`),
        h("input", { type: "number", inputmode: "decimal", name: v.code, step: v.step, min: v.min, max: v.max, "data-unit": v.unit })),
    );
    const oxygen = h("input", { type: "checkbox", name: "on_oxygen" }) as HTMLInputElement;
    const level = h("select", { name: "consciousness" }, h("option", { value: "" }, t("visit.not_measured")),
      ACVPU.map((a) => h("option", { value: a }, t(`visit.acvpu.${a}`)))) as HTMLSelectElement;
    const form = h("form", { class: "vitals", id: "vitals-form" }, h("div", { class: "grid" }, inputs),
      h("label", { class: "check" }, oxygen, t("visit.on_oxygen")),
      h("label", {}, t("visit.consciousness"), level), result,
      h("button", { type: "submit", id: "save-vitals" }, t("visit.save_vitals"))) as HTMLFormElement;
    const read = (): { readings: Record<string, number>; units: Record<string, string> } => {
      const readings: Record<string, number> = {};
      const units: Record<string, string> = {};
      for (const input of form.querySelectorAll<HTMLInputElement>("input[type=number]")) {
        if (input.value.trim() !== "") {
          readings[input.name] = Number(input.value);
          units[input.name] = input.dataset.unit ?? "";
        }
      }
      return { readings, units };
    };
    const judge = (): void => {
      const { readings } = read();
      result.replaceChildren();
      if (Object.keys(readings).length === 0 && !level.value) return;
      const a = assessVitals(readings, { overrides, onOxygen: oxygen.checked, consciousness: level.value || null });
      result.className = `triage-live p-${a.priority ?? "none"}`;
      result.dataset.priority = a.priority ?? "none";
      result.append(priorityBadge(a.priority), reasonList(a));
    };
    form.addEventListener("input", judge);
    form.addEventListener("change", judge);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const { readings, units } = read();
      if (Object.keys(readings).length === 0 && !level.value) return;
      const a = assessVitals(readings, { overrides, onOxygen: oxygen.checked, consciousness: level.value || null });
      const obsId = crypto.randomUUID();
      // A reading from a device carries the device's own time and bytes (views/bluetooth.ts).
      const device = form.dataset.device ? (JSON.parse(form.dataset.device) as Record<string, unknown>) : null;
      const observedAt = (device?.observed_at as string | null) ?? new Date().toISOString();
      const data: Record<string, unknown> = {
        elder_id: draft.elder_id, visit_id: draft.id, observed_at: observedAt, source: "visit",
        readings: Object.entries(readings).map(([code, value]) => ({ code, value, unit: units[code] })),
        on_oxygen: oxygen.checked,
      };
      if (level.value) data.consciousness = level.value;
      if (device) {
        if (device.device_time) data.device_time = device.device_time;
        if (device.device_clock_suspect) data.device_clock_suspect = true;
        data.raw_hex = device.raw_hex;
      }
      const entry = await queue("observation", data, { id: obsId, group: draft.id, elder_id: draft.elder_id, urgent: a.priority === "RED" });
      await db.outbox.update(entry.id, { priority: a.priority });
      await db.observations.put({ id: obsId, elder_id: draft.elder_id, visit_id: draft.id, observed_at: observedAt,
        readings: data.readings, priority: a.priority, local: true });
      draft.observation_ids.push(obsId);
      await save(draft);
      state.kick();
      state.render();
    });
    body.append(bluetoothPanel(form, judge) ?? "", form);
    const saved = await Promise.all(draft.observation_ids.map((o) => db.observations.get(o)));
    body.append(h("ul", { class: "list", id: "saved-vitals" }, saved.filter(Boolean).map((o) =>
      h("li", { class: `reading p-${String(o?.priority ?? "none")}` }, t("visit.saved_vitals", { priority: t(o?.priority ? `priority.${String(o.priority)}` : "priority.none") })))));
  } else if (step === "barthel") {
    const total = h("p", { id: "barthel-total" });
    const update = (): void => {
      const score = Object.values(draft.adl_items).reduce((a, b) => a + b, 0);
      total.textContent = t("visit.barthel_total", { score });
    };
    body.append(
      draft.adl_due ? h("p", { class: "badge p-GREEN" }, t("visit.barthel_due")) : "",
      h("div", { class: "grid" }, Object.entries(BARTHEL).map(([item, max]) =>
        h("label", {}, t(`barthel.${item}`),
          h("select", { name: item, onchange: async (ev: Event) => {
            const value = (ev.target as HTMLSelectElement).value;
            if (value === "") delete draft.adl_items[item];
            else draft.adl_items[item] = Number(value);
            update();
            await save(draft);
          } }, h("option", { value: "" }, "—"),
            Array.from({ length: max + 1 }, (_, n) => h("option", { value: n, selected: draft.adl_items[item] === n }, String(n))))))),
      total,
    );
    update();
  } else if (step === "notes") {
    const notes = h("textarea", { id: "visit-notes", rows: 5, oninput: async (ev: Event) => {
      draft.notes = (ev.target as HTMLTextAreaElement).value;
      await save(draft);
    } }, draft.notes);
    body.append(h("label", {}, t("visit.notes"), notes), await voicePanel(draft));
  } else {
    const problems = h("textarea", { id: "visit-problems", rows: 3, oninput: async (ev: Event) => { draft.problems = (ev.target as HTMLTextAreaElement).value; await save(draft); } }, draft.problems);
    const next = h("textarea", { id: "visit-next-steps", rows: 3, oninput: async (ev: Event) => { draft.next_steps = (ev.target as HTMLTextAreaElement).value; await save(draft); } }, draft.next_steps);
    const question = h("textarea", { id: "consult-question", rows: 2 }) as HTMLTextAreaElement;
    const consultNote = h("p", { "aria-live": "polite" });
    body.append(
      h("label", {}, t("visit.problems"), problems),
      h("label", {}, t("visit.next_steps"), next),
      h("details", {}, h("summary", {}, t("visit.ask_consult")),
        h("label", {}, t("visit.consult_question"), question),
        h("button", { type: "button", class: "secondary", id: "send-consult", onclick: async () => {
          if (!question.value.trim()) return;
          await queue("consult", { elder_id: draft.elder_id, question: question.value.trim(), visit_id: draft.id, observation_ids: draft.observation_ids },
            { group: draft.id, elder_id: draft.elder_id });
          question.value = "";
          consultNote.textContent = t("visit.consult_queued");
          state.kick();
        } }, t("visit.consult_send")), consultNote),
      h("button", { type: "button", id: "finish-visit", class: "primary big", onclick: async () => finish(draft) }, t("visit.finish")),
    );
  }
  return h("div", {}, section(`${t("visit.title")}: ${elder ? [elder.first_name, elder.last_name].join(" ") : ""}`, progress, body, nav));
}

async function voicePanel(draft: VisitDraft): Promise<HTMLElement> {
  const box = h("div", { class: "voice", id: "voice" }, h("h3", {}, t("visit.voice")));
  for (const noteId of draft.voice_note_ids) {
    const stored = await db.blobs.get(noteId);
    if (stored) box.append(h("audio", { controls: true, src: URL.createObjectURL(stored.blob), "data-note": noteId }));
  }
  if (!canRecord()) {
    box.append(h("p", {}, t("visit.no_microphone")));
    return box;
  }
  const status = h("p", { "aria-live": "polite" });
  const button = recordButton({
    id: "voice-record",
    status,
    texts: { record: t("visit.record"), stop: t("visit.stop"), recording: t("visit.recording"), noMicrophone: t("visit.no_microphone") },
    onRecorded: async ({ blob, contentType, seconds }) => {
      const noteId = crypto.randomUUID();
      await db.blobs.put({ id: noteId, visit_id: draft.id, blob, content_type: contentType, uploaded: 0 });
      await queue("voice_note", { visit_id: draft.id, content_type: contentType, size: blob.size, duration_s: seconds, recorded_at: new Date().toISOString() },
        { id: noteId, group: draft.id, elder_id: draft.elder_id });
      draft.voice_note_ids.push(noteId);
      await save(draft);
      status.textContent = t("visit.voice_saved", { seconds });
      state.render();
    },
  });
  box.append(button, status);
  return box;
}

async function finish(draft: VisitDraft): Promise<void> {
  const ended = new Date().toISOString();
  const log: Record<string, unknown> = {
    status: "completed",
    started_at: draft.started_at,
    ended_at: ended,
    checklist: draft.checklist,
  };
  if (draft.notes.trim()) log.notes = draft.notes.trim();
  const problems = draft.problems.split("\n").map((p) => p.trim()).filter(Boolean);
  if (problems.length) log.problems = problems;
  if (draft.next_steps.trim()) log.next_steps = draft.next_steps.trim();
  if (Object.keys(draft.adl_items).length === Object.keys(BARTHEL).length) log.adl_items = draft.adl_items;
  if (draft.latitude !== undefined) {
    log.latitude = draft.latitude;
    log.longitude = draft.longitude;
  }
  if (draft.scheduled) {
    await queue("visit_update", log, { target_id: draft.id, base_version: draft.base_version ?? 1, group: draft.id, elder_id: draft.elder_id });
  } else if (!(await amendWaiting(draft.id, log))) {
    // The visit already reached the server: the finish is an edit of that version.
    const created = await db.outbox.get(draft.id);
    const version = Number((created?.result as Record<string, unknown> | undefined)?.version ?? 1);
    await queue("visit_update", log, { target_id: draft.id, base_version: version, group: draft.id, elder_id: draft.elder_id });
  }
  const adl = log.adl_items ? Object.values(draft.adl_items).reduce((a, b) => a + b, 0) : null;
  await db.visits.put({ id: draft.id, elder_id: draft.elder_id, status: "completed", reason: draft.scheduled ? "scheduled" : "unscheduled",
    started_at: draft.started_at, ended_at: ended, adl_score: adl, local: true });
  await db.drafts.delete(draft.id);
  state.kick();
  go(`#/elder/${draft.elder_id}`);
}
