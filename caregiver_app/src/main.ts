// The app's start: the shell, the session, pull and push, and the screens by URL hash.
import { liveQuery } from "dexie";
import { Workbox } from "workbox-window";
import { fetchSession, Offline, SignedOut } from "./api";
import { DATA_TABLES, db, getMeta, setMeta } from "./db";
import { h, mount } from "./dom";
import { fmtDateTime, locale, setLocale, t } from "./i18n";
import { managerNav, managerPassive, managerScreen } from "./manager";
import { state } from "./state";
import { counts, drain, onSync, pull } from "./sync";
import { forgetVoices } from "./clinician/answers";
import { consultView } from "./clinician/consult";
import { queueView } from "./clinician/queue";
import { elderView } from "./views/elder";
import { outboxView } from "./views/outbox";
import { todayView } from "./views/today";
import { visitView } from "./views/visit";
import { contactView, volunteerView } from "./views/volunteer";

const root = document.getElementById("app") as HTMLElement;

async function redBanner(): Promise<HTMLElement | null> {
  const recent = Date.now() - 30 * 60_000;
  const red = (await db.outbox.toArray()).filter(
    (e) => e.priority === "RED" && (e.state === "waiting" || Date.parse(e.created_at) > recent),
  );
  if (red.length === 0) return null;
  const waiting = red.some((e) => e.state === "waiting");
  return h("div", { class: "red-banner", role: "alert", id: "red-banner" },
    h("strong", {}, t("red.title")),
    h("p", {}, t(waiting ? "red.offline" : "red.online")),
    h("div", { class: "actions" },
      h("a", { href: "tel:1669", class: "button call" }, t("red.call_1669")),
      state.session?.centre_phone
        ? h("a", { href: `tel:${state.session.centre_phone}`, class: "button call" }, t("red.call_centre"))
        : null));
}

async function statusBar(): Promise<HTMLElement> {
  const c = await counts();
  const pulled = await getMeta<string>("pulled_at");
  return h("div", { class: `status ${state.online ? "online" : "offline"}`, id: "status", "data-online": String(state.online) },
    h("span", {}, state.online ? t("status.online") : t("status.offline")),
    h("a", { href: "#/outbox", id: "waiting-count", "data-waiting": c.waiting }, t("status.waiting", { n: c.waiting })),
    h("span", { class: "muted" }, pulled ? t("status.pulled", { when: fmtDateTime(pulled) }) : t("status.never_pulled")),
    state.online ? h("button", { type: "button", class: "secondary small", id: "sync-now", onclick: () => void syncNow() }, t("status.sync_now")) : null);
}

function header(): HTMLElement {
  const role = state.session?.role;
  return h("header", { class: "top" },
    h("a", { href: "#/", class: "brand" }, t("app.title")),
    h("nav", { "aria-label": t("app.title") },
      h("a", { href: "#/", class: "button secondary" }, t("nav.today")),
      h("a", { href: "#/outbox", class: "button secondary" }, t("nav.outbox")),
      role === "care_manager" ? managerNav() : null,
      role === "care_manager" || role === "clinician" ? h("a", { href: "/elders", class: "button secondary" }, t("nav.server_pages")) : null,
      h("button", { type: "button", class: "secondary", id: "lang", lang: locale() === "th" ? "en" : "th", onclick: () => {
        setLocale(locale() === "th" ? "en" : "th");
        void render();
      } }, t("nav.lang"))),
    state.session ? h("span", { class: "who" }, state.session.full_name) : null);
}

async function screen(): Promise<HTMLElement> {
  const [, name, id] = location.hash.replace(/^#/, "").split("/");
  const role = state.session?.role;
  if (name === "elder" && id) return elderView(id);
  if (name === "visit" && id && role !== "volunteer") return visitView(id);
  if (name === "contact" && id) return contactView(id);
  if (name === "outbox") return outboxView();
  if (name === "m" && role === "care_manager") return managerScreen(location.hash);
  if (role === "volunteer") return volunteerView();
  if (name === "consult" && id && role === "clinician") return consultView(id);
  if (role === "clinician") return queueView();
  return todayView();
}

const chrome = h("div", { id: "chrome" });
const mainEl = h("main", { id: "main" });
const flashEl = h("p", { id: "flash", role: "status", class: "notice", hidden: true });

async function renderChrome(): Promise<void> {
  const [red, bar] = await Promise.all([redBanner(), statusBar()]);
  const banners: (HTMLElement | null)[] = [red];
  if (state.signedOut) {
    banners.push(h("div", { class: "notice", role: "status", id: "signed-out" }, t("status.signed_out"), " ",
      h("a", { href: "/login?next=/app/", class: "button" }, t("status.sign_in"))));
  }
  if (state.persisted === false) banners.push(h("p", { class: "muted small" }, t("status.storage_best_effort")));
  chrome.replaceChildren(header(), bar, ...banners.filter((b): b is HTMLElement => b !== null));
}

// Screens with a form being filled are not redrawn by background events (a pull, a send),
// nor one where a voice note is playing: a redraw replaces the element, and that stops it.
// Such a screen catches up when the playing ends.
let heldWhilePlaying = false;
function passive(): boolean {
  const name = location.hash.replace(/^#/, "").split("/")[1] ?? "";
  if (["visit", "contact", "consult"].includes(name) || !managerPassive(location.hash)) return false;
  const playing = [...mainEl.querySelectorAll<HTMLMediaElement>("audio, video")].some((m) => !m.paused && !m.ended);
  if (playing) heldWhilePlaying = true;
  return !playing;
}

let rendering = Promise.resolve();
async function render(all = true): Promise<void> {
  rendering = rendering.then(async () => {
    document.documentElement.lang = locale();
    document.title = t("app.title");
    // The bar and the screen read the store side by side, not one after the other.
    const [, body] = await Promise.all([renderChrome(), all || passive() ? screen() : null]);
    if (body) mainEl.replaceChildren(body);
    if (!root.contains(mainEl)) mount(root, chrome, flashEl, mainEl);
    flashEl.hidden = !flashEl.textContent;
    if (!root.dataset.ready) performance.mark("first-render");
    root.dataset.ready = "1";
  });
  return rendering;
}
state.flash = (text: string) => {
  flashEl.textContent = text;
  flashEl.hidden = !text;
  window.setTimeout(() => { if (flashEl.textContent === text) { flashEl.textContent = ""; flashEl.hidden = true; } }, 8000);
};
state.render = () => void render();
// Media events do not bubble; the capture phase hears every voice note on the screen.
mainEl.addEventListener("ended", () => {
  if (!heldWhilePlaying) return;
  heldWhilePlaying = false;
  void render(false);
}, true);

// --- session, pull and push ---------------------------------------------------------

async function refreshSession(): Promise<void> {
  try {
    const fresh = await fetchSession();
    const known = state.session;
    if (known && known.user_id !== fresh.user_id) {
      // Another person on this tablet: their data goes; the outbox keeps each record's owner.
      await db.transaction("rw", [...DATA_TABLES.map((n) => db[n]), db.history, db.meta, db.drafts], async () => {
        for (const n of DATA_TABLES) await db[n].clear();
        await db.history.clear();
        await db.drafts.clear();
        await db.meta.delete("cursor");
      });
      await forgetVoices();
    }
    state.session = fresh;
    state.signedOut = false;
    if (!localStorage.getItem("eldercare.locale") && fresh.locale === "en") setLocale("en");
    await setMeta("session", fresh);
  } catch (error) {
    if (error instanceof SignedOut) {
      state.signedOut = true;
      if (!state.session) location.assign("/login?next=/app/");
    } else if (!(error instanceof Offline)) throw error;
  }
}

let backoff = 5_000;
let timer: number | undefined;
async function syncNow(): Promise<void> {
  if (!state.online) return;
  if (state.signedOut || !state.session) await refreshSession();
  if (!state.session || state.signedOut) return;
  const sent = await drain();
  const pulled = await pull(state.session);
  if (pulled && navigator.storage?.persist && state.persisted === null) {
    try {
      state.persisted = (await navigator.storage.persisted()) || (await navigator.storage.persist());
    } catch {
      state.persisted = false;
    }
  }
  await render(false);
  const c = await counts();
  window.clearTimeout(timer);
  if (c.waiting > 0) {
    // Retry with backoff and jitter while something is waiting, but look again soon while
    // sending makes progress here or in the service worker: after a day offline the outbox
    // empties in a few rounds, and growing pauses between them kept signal unused for minutes.
    backoff = sent !== 0 ? 5_000 : Math.min(backoff * 2, 300_000);
    const wait = sent !== 0 ? 2_000 : backoff * (0.5 + Math.random());
    timer = window.setTimeout(() => void syncNow(), wait);
  } else backoff = 5_000;
}

state.kick = () => {
  void render(false);
  if (state.online) void syncNow();
  // Where the browser allows, the service worker sends the outbox even after the page closes.
  void navigator.serviceWorker?.ready
    .then((reg) => (reg as ServiceWorkerRegistration & { sync?: { register(tag: string): Promise<void> } }).sync?.register("outbox"))
    .catch(() => undefined);
};

onSync((event) => {
  if (event === "signed-out") state.signedOut = true;
  if (event === "offline") state.online = false;
  void render(false);
});

// The service worker and other tabs write the outbox too (Background Sync sends it while this
// page also tries). Dexie tells every context of each change, so the bar follows a send made
// elsewhere instead of saying something still waits until the next event here.
liveQuery(() => counts()).subscribe({
  next: (c) => {
    const shown = document.getElementById("waiting-count")?.dataset.waiting;
    if (shown !== undefined && shown !== String(c.waiting)) void render(false);
  },
  error: (error: unknown) => console.warn("outbox watch ended", error),
});

window.addEventListener("online", () => { state.online = true; void syncNow(); });
window.addEventListener("offline", () => { state.online = false; void render(false); });
window.addEventListener("hashchange", () => { window.scrollTo(0, 0); void render(); });
document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") void syncNow(); });

function registerWorker(): void {
  if (!("serviceWorker" in navigator)) return;
  const wb = new Workbox("/app/sw.js", { scope: "/app/" });
  wb.addEventListener("waiting", async () => {
    // Never swap the app under a visit in progress: offer the update between visits.
    if ((await db.drafts.count()) > 0) return;
    const bar = h("div", { class: "notice", role: "status", id: "update-ready" }, t("common.update_ready"), " ",
      h("button", { type: "button", id: "update-now", onclick: () => {
        wb.addEventListener("controlling", () => location.reload());
        wb.messageSkipWaiting();
      } }, t("common.update_now")));
    root.prepend(bar);
  });
  void wb.register();
}

async function boot(): Promise<void> {
  setLocale(locale());
  state.session = (await getMeta<typeof state.session>("session")) ?? null;
  await render();
  registerWorker();
  if (state.online) {
    await refreshSession();
    await syncNow();
  }
  // The tablet's screens show what the first pull brought. A care manager's screen is the
  // server's answer, read and audited when drawn: the pull changed nothing on it (and
  // `syncNow` drew it again had it been drawn offline), so it is not read a second time.
  await render(!location.hash.startsWith("#/m/"));
  performance.mark("app-ready");
}

void boot();
