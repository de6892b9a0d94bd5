// The service worker: the precached shell (Workbox), page navigations answered by the
// shell, and the outbox sent in the background where the browser has Background Sync.
/// <reference lib="webworker" />
import { createHandlerBoundToURL, precacheAndRoute, cleanupOutdatedCaches } from "workbox-precaching";
import { NavigationRoute, registerRoute } from "workbox-routing";
import { drain, waitingCount } from "./sync";

declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: { url: string; revision: string | null }[] };

cleanupOutdatedCaches();
precacheAndRoute(self.__WB_MANIFEST);
registerRoute(new NavigationRoute(createHandlerBoundToURL("/app/index.html"), { allowlist: [/^\/app\//] }));

self.addEventListener("message", (event) => {
  if ((event.data as { type?: string } | null)?.type === "SKIP_WAITING") void self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

// The browser fires "sync" when it believes the tablet is online, yet the first request can
// still fail: a link that comes back in steps, a server restarting. A sync event that ends
// well is never fired again, so keep trying inside the event for about half a minute, then
// fail it: the browser schedules another attempt later, and nothing waits for a page to open.
const SYNC_PAUSES_MS = [0, 1_000, 2_000, 4_000, 8_000, 16_000];

async function sendOutbox(): Promise<void> {
  for (const pause of SYNC_PAUSES_MS) {
    if (pause) await new Promise((resolve) => setTimeout(resolve, pause));
    await drain();
    if ((await waitingCount()) === 0) return;
  }
  throw new Error("outbox: entries still waiting; the browser will fire sync again");
}

self.addEventListener("sync", (event) => {
  const e = event as ExtendableEvent & { tag: string };
  if (e.tag === "outbox") e.waitUntil(sendOutbox());
});
