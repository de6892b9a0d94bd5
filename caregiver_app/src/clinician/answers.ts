// The caregiver's side of a consultation: the question as asked and the clinician's answer,
// text and spoken advice. The answer arrives with the pull; the advice audio is fetched then
// and kept in the Cache Storage, so the answer plays on the tablet offline too.
import { request } from "../api";
import { db, type Row } from "../db";
import { h } from "../dom";
import { fmtDate, fmtDateTime, t } from "../i18n";
import { state } from "../state";
import { onSync } from "../sync";

export const VOICE_CACHE = "eldercare-voice";

function adviceUrl(note: Row): string {
  return `/api/v1/consults/${String(note.consult_id)}/voice-notes/${note.id}`;
}

async function cacheAdvice(): Promise<void> {
  if (typeof caches === "undefined" || !state.online) return;
  const notes = (await db.voice_notes.toArray()).filter((n) => n.purpose === "advice" && n.consult_id && n.stored);
  const cache = await caches.open(VOICE_CACHE);
  // An elder no longer on this tablet (a tombstone removed their rows): their audio goes too.
  const wanted = new Set(notes.map((n) => new URL(adviceUrl(n), location.origin).href));
  for (const key of await cache.keys()) if (!wanted.has(key.url)) await cache.delete(key);
  for (const note of notes) {
    const url = adviceUrl(note);
    if (await cache.match(url)) continue;
    try {
      const res = await request(url);
      if (res.ok && res.status === 200) await cache.put(url, res);
    } catch {
      return; // offline again: the next pull tries
    }
  }
}
onSync((event) => {
  if (event === "pulled") void cacheAdvice();
});

// Another person on this tablet: their elders' voices go with their data.
export async function forgetVoices(): Promise<void> {
  if (typeof caches !== "undefined") await caches.delete(VOICE_CACHE);
}

function adviceAudio(note: Row): HTMLElement {
  const label = `${t("consult.voice_advice")} · ${fmtDateTime(String(note.recorded_at))}`;
  const audio = h("audio", { controls: true, preload: "metadata", "aria-label": label, "data-note": note.id }) as HTMLAudioElement;
  const url = adviceUrl(note);
  // The kept copy when there is one (offline too), else the server with range requests.
  void (async () => {
    const kept = typeof caches !== "undefined" ? await (await caches.open(VOICE_CACHE)).match(url) : undefined;
    audio.src = kept ? URL.createObjectURL(await kept.blob()) : url;
  })();
  return h("div", { class: "advice-voice" }, h("div", {}, label), audio);
}

export async function consultAnswers(elderId: string): Promise<HTMLElement> {
  const consults = (await db.consults.where("elder_id").equals(elderId).toArray()).sort(
    (a, b) => Date.parse(String(b.created_at)) - Date.parse(String(a.created_at)),
  );
  const voices = await db.voice_notes.where("elder_id").equals(elderId).toArray();
  const items = consults.map((c) => {
    const advice = voices.filter((v) => v.consult_id === c.id && v.purpose === "advice" && v.stored);
    const answered = Boolean(c.answered_at);
    return h("li", { "data-consult": c.id, "data-status": String(c.status) },
      h("div", {}, `${fmtDate(String(c.created_at))} · `, h("span", { class: "badge p-none" }, t(`consult.status.${String(c.status)}`))),
      h("p", { class: "question" }, String(c.question)),
      answered
        ? h("div", { class: "answer" },
          h("strong", {}, t("consult.answer")),
          c.advice ? h("p", { class: "advice-text" }, String(c.advice)) : null,
          advice.map(adviceAudio),
          (c.outcome as Record<string, unknown> | undefined)?.targets_changed ? h("p", {}, t("consult.targets_changed")) : null)
        : h("p", { class: "muted" }, t("consult.waiting_answer")));
  });
  return h("section", { class: "card", id: "consult-answers" }, h("h2", {}, t("elder.consults")),
    items.length ? h("ul", { class: "list" }, items) : h("p", { class: "muted" }, t("consult.none")));
}
