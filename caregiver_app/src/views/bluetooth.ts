// The visit's "read from the device" panel. Where the browser has Web Bluetooth, one tap opens
// the chooser; a measurement fills the vitals form (the live triage colour follows, as when
// typing) and the device's own clock becomes the reading's time when it is plausible. Every
// failure says what happened in plain words; typed entry is always there.
import { installTestHook, readDevice, type DeviceReading } from "../bluetooth/session";
import { h } from "../dom";
import { fmtDateTime, t } from "../i18n";

// A device clock further off than this is not trusted: the time of saving is used instead.
const FUTURE_SLACK_MS = 5 * 60_000;
const OLDEST_MS = 30 * 86400_000;

function deviceTime(at: string | null): Date | null {
  if (!at) return null;
  // The device clock has no zone: it is set to the tablet's, so it is read as local time.
  const when = new Date(at);
  const age = Date.now() - when.getTime();
  if (Number.isNaN(age) || age < -FUTURE_SLACK_MS || age > OLDEST_MS) return null;
  return when;
}

function errorKey(error: unknown): string {
  const name = error instanceof DOMException ? error.name : "";
  if (name === "NotAllowedError" || name === "SecurityError") return "bluetooth.denied";
  if (name === "NotFoundError") return "bluetooth.cancelled";
  if (name === "NetworkError") return "bluetooth.disconnected";
  if (error instanceof Error && error.message === "unsupported") return "bluetooth.unsupported_device";
  return "bluetooth.failed";
}

const FLAG_KEYS: Record<string, string> = {
  irregular_pulse: "bluetooth.flag.irregular_pulse",
  body_movement: "bluetooth.flag.body_movement",
  cuff_too_loose: "bluetooth.flag.cuff_too_loose",
  improper_position: "bluetooth.flag.improper_position",
};

export function bluetoothPanel(form: HTMLFormElement, judge: () => void): HTMLElement | null {
  if (!("bluetooth" in navigator)) return h("p", { class: "muted", id: "no-bluetooth" }, t("visit.no_bluetooth"));
  installTestHook();
  const status = h("p", { id: "ble-status", "aria-live": "polite", "data-state": "idle" }, t("bluetooth.hint"));
  const notes = h("ul", { id: "ble-notes", class: "reasons" });
  let device: BluetoothDevice | null = null;
  // Set once this tap's session has its answer: a drop after that is the device finishing.
  let finished = false;
  const say = (state: string, key: string, params: Record<string, string | number> = {}): void => {
    status.dataset.state = state;
    status.textContent = t(key, params);
  };

  const fill = (reading: DeviceReading, name: string): void => {
    finished = true;
    for (const [code, value] of Object.entries(reading.values)) {
      const input = form.querySelector<HTMLInputElement>(`input[name="${code}"]`);
      if (!input || value === undefined) continue;
      input.value = String(value);
      input.dataset.fromDevice = "1";
    }
    const when = deviceTime(reading.at);
    // Read by visit.ts when the reading is saved: the observation keeps the device's clock
    // (flagged when it looked wrong) and the bytes, as readings from the home hub do.
    const stamp = reading.at ? new Date(reading.at) : null;
    form.dataset.device = JSON.stringify({
      observed_at: when ? when.toISOString() : null,
      device_time: stamp && !Number.isNaN(stamp.getTime()) ? stamp.toISOString() : null,
      device_clock_suspect: Boolean(reading.at && !when),
      raw_hex: reading.raw,
    });
    judge();
    say("filled", when ? "bluetooth.filled_at" : "bluetooth.filled", { device: name, when: when ? fmtDateTime(when) : "" });
    notes.replaceChildren(
      ...reading.flags.map((f) => h("li", {}, t(FLAG_KEYS[f]))),
      reading.at && !when ? h("li", {}, t("bluetooth.clock_off")) : "",
      reading.records && reading.records > 1 ? h("li", {}, t("bluetooth.glucose_records", { n: reading.records })) : "",
      reading.skippedControl ? h("li", {}, t("bluetooth.control_solution")) : "",
    );
  };

  // A value typed over one the device gave is the caregiver's: the device's time no longer holds.
  form.addEventListener("input", (ev) => {
    const input = ev.target as HTMLInputElement;
    if (ev.isTrusted && input.dataset?.fromDevice) {
      delete input.dataset.fromDevice;
      delete form.dataset.device;
    }
  });

  const button = h("button", { type: "button", class: "secondary", id: "ble-read" }, t("visit.bluetooth")) as HTMLButtonElement;
  button.addEventListener("click", async () => {
    if (device?.gatt?.connected) device.gatt.disconnect();
    finished = false;
    notes.replaceChildren();
    let name = "";
    try {
      say("choosing", "bluetooth.choosing");
      device = await readDevice({
        connected: (deviceName) => {
          name = deviceName || t("bluetooth.device");
          say("connected", "bluetooth.connected", { device: name });
        },
        reading: (reading) => {
          fill(reading, name);
          // One measurement per tap: the cuff or oximeter may be switched off now.
          if (reading.kind !== "glucose") device?.gatt?.disconnect();
        },
        noNewRecords: () => {
          finished = true;
          say("filled", "bluetooth.no_new_records");
        },
        malformed: () => {
          finished = true;
          say("error", "bluetooth.bad_data");
        },
        disconnected: () => {
          if (!finished) say("error", "bluetooth.disconnected");
        },
      });
      if (status.dataset.state === "connected") say("waiting", "bluetooth.waiting", { device: name });
    } catch (error) {
      let key = errorKey(error);
      if (key === "bluetooth.cancelled" && navigator.bluetooth.getAvailability && !(await navigator.bluetooth.getAvailability())) {
        key = "bluetooth.off";
      }
      say("error", key);
    }
  });
  return h("div", { class: "ble", id: "bluetooth" }, button, status, notes);
}
