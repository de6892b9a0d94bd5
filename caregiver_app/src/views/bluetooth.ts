import { h } from "../dom";
import { t } from "../i18n";

// Reading the health kit over Web Bluetooth is not in this build: where the browser has no
// Web Bluetooth the app says so plainly, and readings are typed.
export function bluetoothPanel(_form: HTMLFormElement, _judge: () => void): HTMLElement | null {
  if ("bluetooth" in navigator) return null;
  return h("p", { class: "muted", id: "no-bluetooth" }, t("visit.no_bluetooth"));
}
