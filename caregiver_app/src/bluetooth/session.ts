// Reading one standard health device over Web Bluetooth: the chooser (filtered to the blood
// pressure 0x1810, pulse oximeter 0x1822 and glucose 0x1808 services), connect, subscribe to
// the measurement characteristic (startNotifications covers indications too), parse.
// Glucose meters keep records: after subscribing, the app writes the Record Access Control
// Point for "records after the last one this tablet took from this meter".
import * as bloodPressure from "./bloodPressure";
import { ParseError } from "./errors";
import * as glucose from "./glucose";
import * as pulseOximeter from "./pulseOximeter";
import * as racp from "./racp";

export type Kind = "blood_pressure" | "pulse_oximeter" | "glucose";

/** What a device measured, in the units the visit form takes. `at` is the device's own clock
 * (naive local time, "YYYY-MM-DDTHH:MM:SS") or null when it sent none or its clock is unset. */
export interface DeviceReading {
  kind: Kind;
  values: Partial<Record<"systolic" | "diastolic" | "pulse" | "spo2" | "glucose", number>>;
  at: string | null;
  flags: string[];
  /** The bytes the device sent, as lowercase hex (kept with the observation). */
  raw: string;
  records?: number;
  skippedControl?: number;
}

export interface SessionEvents {
  connected(name: string): void;
  reading(reading: DeviceReading): void;
  noNewRecords(): void;
  malformed(error: ParseError): void;
  disconnected(): void;
}

export const FILTERS: BluetoothLEScanFilter[] = [
  { services: [bloodPressure.SERVICE] },
  { services: [pulseOximeter.SERVICE] },
  { services: [glucose.SERVICE] },
];
// Services read besides the measurement ones must be named, or Chromium refuses them.
export const OPTIONAL_SERVICES = [0x180f, 0x180a];

const KPA_TO_MMHG = 7.50062;

// Handlers of the characteristics subscribed in this session, by 16-bit UUID, so that the
// value reaches the parser the same way whoever delivers it (see `testHook` below).
const handlers = new Map<number, (value: DataView) => void>();

export function hexOf(value: DataView): string {
  return Array.from(new Uint8Array(value.buffer, value.byteOffset, value.byteLength), (b) => b.toString(16).padStart(2, "0")).join("");
}

function whole(value: number): number | undefined {
  return Number.isFinite(value) ? Math.round(value) : undefined;
}

export function fromBloodPressure(m: bloodPressure.Measurement, raw: string): DeviceReading {
  const factor = m.unit === "kPa" ? KPA_TO_MMHG : 1;
  const flags = m.status
    ? (["irregular_pulse", "body_movement", "cuff_too_loose", "improper_position"] as const).filter((f) => m.status?.[f])
    : [];
  return {
    kind: "blood_pressure",
    values: { systolic: whole(m.systolic * factor), diastolic: whole(m.diastolic * factor), pulse: m.pulse_rate === null ? undefined : whole(m.pulse_rate) },
    at: m.timestamp,
    flags: [...flags],
    raw,
  };
}

export function fromSpotCheck(m: pulseOximeter.SpotCheck | pulseOximeter.Continuous, raw: string): DeviceReading {
  return { kind: "pulse_oximeter", values: { spo2: whole(m.spo2), pulse: whole(m.pulse_rate) }, at: "timestamp" in m ? m.timestamp : null, flags: [], raw };
}

function lastSequenceKey(deviceId: string): string {
  return `eldercare.glucose-last.${deviceId}`;
}

/** The sequence number of the newest record this tablet took from a meter (not health data). */
export function lastSequence(deviceId: string): number | null {
  const stored = localStorage.getItem(lastSequenceKey(deviceId));
  return stored === null ? null : Number(stored);
}

async function service(server: BluetoothRemoteGATTServer, uuid: number): Promise<BluetoothRemoteGATTService | null> {
  try {
    return await server.getPrimaryService(uuid);
  } catch {
    return null;
  }
}

async function subscribe(characteristic: BluetoothRemoteGATTCharacteristic, uuid: number, onValue: (value: DataView) => void): Promise<void> {
  handlers.set(uuid, onValue);
  characteristic.addEventListener("characteristicvaluechanged", (ev) => {
    const value = (ev.target as BluetoothRemoteGATTCharacteristic).value;
    if (value) handlers.get(uuid)?.(value);
  });
  await characteristic.startNotifications();
}

/** Ask for a device (needs the user's tap), connect and start listening. Rejects with the
 * browser's DOMException (NotFoundError: nothing chosen or no adapter; NotAllowedError or
 * SecurityError: not permitted) or "unsupported" when the device has none of the services. */
export async function readDevice(events: SessionEvents): Promise<BluetoothDevice> {
  const device = await navigator.bluetooth.requestDevice({ filters: FILTERS, optionalServices: OPTIONAL_SERVICES });
  handlers.clear();
  device.addEventListener("gattserverdisconnected", () => {
    handlers.clear();
    events.disconnected();
  });
  if (!device.gatt) throw new Error("unsupported");
  const server = await device.gatt.connect();
  events.connected(device.name ?? "");
  const guard = (parse: (value: DataView) => void) => (value: DataView) => {
    try {
      parse(value);
    } catch (error) {
      if (error instanceof ParseError) events.malformed(error);
      else throw error;
    }
  };

  const bp = await service(server, bloodPressure.SERVICE);
  if (bp) {
    const measurement = await bp.getCharacteristic(bloodPressure.MEASUREMENT);
    await subscribe(measurement, bloodPressure.MEASUREMENT, guard((v) => events.reading(fromBloodPressure(bloodPressure.parseMeasurement(v), hexOf(v)))));
    return device;
  }
  const plx = await service(server, pulseOximeter.SERVICE);
  if (plx) {
    const spot = await plx.getCharacteristic(pulseOximeter.SPOT_CHECK).catch(() => null);
    if (spot) {
      await subscribe(spot, pulseOximeter.SPOT_CHECK, guard((v) => events.reading(fromSpotCheck(pulseOximeter.parseSpotCheck(v), hexOf(v)))));
    } else {
      const continuous = await plx.getCharacteristic(pulseOximeter.CONTINUOUS);
      await subscribe(continuous, pulseOximeter.CONTINUOUS, guard((v) => events.reading(fromSpotCheck(pulseOximeter.parseContinuous(v), hexOf(v)))));
    }
    return device;
  }
  const gl = await service(server, glucose.SERVICE);
  if (gl) {
    await readGlucose(device, gl, events, guard);
    return device;
  }
  device.gatt.disconnect();
  throw new Error("unsupported");
}

async function readGlucose(
  device: BluetoothDevice,
  gl: BluetoothRemoteGATTService,
  events: SessionEvents,
  guard: (parse: (value: DataView) => void) => (value: DataView) => void,
): Promise<void> {
  const records: (glucose.Measurement & { raw: string })[] = [];
  const measurement = await gl.getCharacteristic(glucose.MEASUREMENT);
  await subscribe(measurement, glucose.MEASUREMENT, guard((v) => records.push({ ...glucose.parseMeasurement(v), raw: hexOf(v) })));
  const control = await gl.getCharacteristic(racp.UUID);
  await subscribe(control, racp.UUID, guard((v) => {
    const response = racp.parseResponse(v);
    if (response.kind !== "response" || response.request_opcode !== racp.REPORT_STORED_RECORDS) return;
    const usable = records.filter((r) => !r.is_control_solution && r.mg_dl !== null && Number.isFinite(r.mg_dl));
    if (records.length) {
      const newest = Math.max(...records.map((r) => r.sequence_number));
      localStorage.setItem(lastSequenceKey(device.id), String(newest));
    }
    if (response.code === racp.NO_RECORDS_FOUND || usable.length === 0) {
      events.noNewRecords();
    } else {
      const latest = usable.reduce((a, b) => (b.sequence_number > a.sequence_number ? b : a));
      events.reading({
        kind: "glucose", values: { glucose: whole(latest.mg_dl ?? Number.NaN) }, at: latest.timestamp, flags: [], raw: latest.raw,
        records: usable.length, skippedControl: records.length - usable.length,
      });
    }
    device.gatt?.disconnect();
  }));
  // Only the records this tablet has not taken yet ("records newer than the last").
  const last = lastSequence(device.id);
  await control.writeValueWithResponse(last === null || last >= 0xffff ? racp.reportAll() : racp.reportAfter(last));
}

/** Chromium's Bluetooth emulation (the browser tests) can answer the chooser, connect,
 * discovery, subscriptions and writes, but cannot push a notification or indication. Under
 * automation only, this hands bytes to the handler of a subscribed characteristic, exactly
 * where the browser's characteristicvaluechanged event would. */
export function installTestHook(): void {
  if (!navigator.webdriver) return;
  (window as unknown as { eldercareBluetooth: unknown }).eldercareBluetooth = {
    deliver(uuid: number, hex: string): boolean {
      const handler = handlers.get(uuid);
      if (!handler) return false;
      const bytes = Uint8Array.from(hex.replace(/\s+/g, "").match(/../g) ?? [], (b) => parseInt(b, 16));
      handler(new DataView(bytes.buffer));
      return true;
    },
  };
}
