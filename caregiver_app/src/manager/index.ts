// The care manager's screens, under #/m/<screen>[/<elder id>]. They read the server's JSON,
// so they work online; what a care manager records on a visit goes through the outbox.
import { Offline, SignedOut } from "../api";
import { h } from "../dom";
import { t } from "../i18n";
import { state } from "../state";
import { section } from "../views/common";
import { caseloadView } from "./caseload";
import { followupsView } from "./followups";
import { HttpError } from "./net";
import { planView } from "./plan";
import { recordView } from "./record";
import { reviewsView } from "./reviews";
import { visitsView } from "./visits";

export function managerNav(): HTMLElement[] {
  return [
    h("a", { href: "#/m/caseload", class: "button secondary", id: "nav-caseload" }, t("manager.nav.caseload")),
    h("a", { href: "#/m/reviews", class: "button secondary", id: "nav-reviews" }, t("manager.nav.reviews")),
    h("a", { href: "#/m/followups", class: "button secondary", id: "nav-followups" }, t("manager.nav.followups")),
    h("a", { href: "#/m/visits", class: "button secondary", id: "nav-visits" }, t("manager.nav.visits")),
  ];
}

// Whether the manager screen on show was drawn from the server's answer (online) or not.
let drawnOnline: boolean | null = null;

/** Whether a background event (a pull, a send) may redraw the screen. A manager screen is the
 * server's answer, read and audited when drawn: redrawn on every pull it would add an audit row
 * each time and redraw the map under the user's hand. It is redrawn when the connection it was
 * drawn under has changed; the plan editor, a form being filled, never. */
export function managerPassive(hash: string): boolean {
  if (!hash.startsWith("#/m/")) return true;
  return !hash.startsWith("#/m/plan/") && drawnOnline !== state.online;
}

export async function managerScreen(hash: string): Promise<HTMLElement> {
  const [, , name, id] = hash.replace(/^#/, "").split("/");
  drawnOnline = state.online;
  if (!state.online) return section(t("manager.title"), h("p", { id: "manager-offline" }, t("manager.online_only")));
  try {
    if (name === "reviews") return await reviewsView();
    if (name === "followups") return await followupsView();
    if (name === "visits") return await visitsView();
    if (name === "plan" && id) return await planView(id);
    if (name === "record" && id) return await recordView(id);
    return await caseloadView();
  } catch (e) {
    if (e instanceof Offline || e instanceof SignedOut) {
      drawnOnline = false;
      return section(t("manager.title"), h("p", {}, t("manager.online_only")));
    }
    if (e instanceof HttpError) return section(t("manager.title"), h("p", { role: "alert" }, e.message));
    throw e;
  }
}
