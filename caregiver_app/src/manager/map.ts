// The caseload on a map (Leaflet). Tiles are optional: without a tile server set (the
// default, and the offline case) the markers stand on a plain background with each
// community's extent and name, which is enough to plan a round of visits.
import * as L from "leaflet";
import { h } from "../dom";
import { t } from "../i18n";
import { state } from "../state";

export interface MapElder {
  id: string;
  name: string;
  community: string;
  status: string;
  latitude: number | null;
  longitude: number | null;
  flags: string[];
}

// A marker's label is its most pressing flag in words (a short form): colour repeats it for
// those who see it, and never carries it alone.
const SHORT: Record<string, string> = {
  red: "manager.map.short.red",
  overdue: "manager.map.short.overdue",
  yellow: "manager.map.short.yellow",
  followup: "manager.map.short.followup",
  alone: "manager.map.short.alone",
  bedbound: "manager.map.short.bedbound",
};

function located(e: MapElder): e is MapElder & { latitude: number; longitude: number } {
  return e.latitude !== null && e.longitude !== null;
}

function pin(e: MapElder, flagText: (f: string) => string, statusText: string): HTMLElement {
  const top = e.flags[0] ?? "none";
  const label = top === "none" ? t("manager.map.short.none") : t(SHORT[top] ?? top);
  const spoken = [e.name, e.community, statusText, ...e.flags.map(flagText)].join(", ");
  return h("span", { class: `pin pin-${top} status-${e.status}`, "data-elder": e.id, "data-flag": top, title: spoken },
    h("span", { "aria-hidden": "true" }, label),
    h("span", { class: "visually-hidden" }, spoken));
}

/** Draws `elders` into `box` (already in the page, so Leaflet can measure it); returns the
 * map so the caller can remove it when the screen is redrawn. */
export function drawMap(
  box: HTMLElement,
  elders: MapElder[],
  flagText: (f: string) => string,
  statusText: (s: string) => string,
): L.Map {
  const tiles = state.session?.map_tile_url ?? "";
  const map = L.map(box, { zoomSnap: 0.5, zoomControl: false, attributionControl: Boolean(tiles) });
  L.control.zoom({ zoomInTitle: t("manager.map.zoom_in"), zoomOutTitle: t("manager.map.zoom_out") }).addTo(map);
  box.classList.toggle("no-tiles", !tiles);
  if (tiles) {
    L.tileLayer(tiles, { maxZoom: 19, attribution: state.session?.map_tile_attribution ?? "" }).addTo(map);
  }
  const shown = elders.filter(located);
  // Each community as the box around its homes, named: the map's only landmarks without tiles.
  const communities = new Map<string, L.LatLngBounds>();
  for (const e of shown) {
    const at = L.latLng(e.latitude, e.longitude);
    const b = communities.get(e.community);
    if (b) b.extend(at);
    else communities.set(e.community, L.latLngBounds(at, at));
  }
  for (const [name, bounds] of communities) {
    const padded = bounds.pad(0.15);
    L.rectangle(padded, { className: "community-area", interactive: false, weight: 1 }).addTo(map);
    L.marker(padded.getNorthWest(), {
      interactive: false,
      keyboard: false,
      icon: L.divIcon({ className: "community-label", html: h("span", {}, name), iconSize: undefined }),
    }).addTo(map);
  }
  for (const e of shown) {
    const marker = L.marker([e.latitude, e.longitude], {
      keyboard: true,
      riseOnHover: true,
      icon: L.divIcon({ className: "pin-wrap", html: pin(e, flagText, statusText(e.status)), iconSize: [76, 30], iconAnchor: [38, 15] }),
    });
    // Leaflet opens a click (and Enter on the focused marker) as a click: the elder's record.
    marker.on("click", () => {
      location.hash = `#/m/record/${e.id}`;
    });
    marker.addTo(map);
  }
  const all = shown.map((e) => L.latLng(e.latitude, e.longitude));
  if (all.length > 0) map.fitBounds(L.latLngBounds(all).pad(0.2), { maxZoom: 16 });
  else map.setView([13.75, 100.5], 6); // Thailand, until someone's home is placed
  box.dataset.markers = String(shown.length);
  return map;
}
