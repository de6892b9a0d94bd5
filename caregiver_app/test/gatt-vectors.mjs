// The shared GATT byte vectors (tests/vectors/gatt.json) run through the TypeScript parsers
// (bundled for Node as build/gatt.mjs by build.mjs). The result is the same plain JSON the
// Python side makes (tests/support/gatt_vectors.py), so whole results can be compared.
import { readFileSync } from "node:fs";

const here = new URL(".", import.meta.url).pathname;
export const VECTORS_FILE = `${here}../../tests/vectors/gatt.json`;
const gatt = await import(`${here}../build/gatt.mjs`);
const { ParseError, battery, bloodPressure, dateTime, glucose, pulseOximeter, racp, sfloat } = gatt;

export function load() {
  return JSON.parse(readFileSync(VECTORS_FILE, "utf8")).vectors;
}

export function bytes(hex) {
  const clean = hex.replace(/\s+/g, "");
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => parseInt(b, 16));
}

export function plain(value) {
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "NaN";
    if (value === Infinity) return "Infinity";
    if (value === -Infinity) return "-Infinity";
    return value;
  }
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
}

const PARSERS = {
  sfloat: (data) => ({ value: sfloat.decodeBytes(data) }),
  date_time: (data) => {
    const value = dateTime.parseDateTime(data);
    return { ...value, iso: dateTime.toIso(value) };
  },
  "blood_pressure.measurement": bloodPressure.parseMeasurement,
  "blood_pressure.intermediate_cuff_pressure": bloodPressure.parseIntermediateCuffPressure,
  "pulse_oximeter.spot_check": pulseOximeter.parseSpotCheck,
  "pulse_oximeter.continuous": pulseOximeter.parseContinuous,
  "glucose.measurement": glucose.parseMeasurement,
  "racp.response": racp.parseResponse,
  "battery.level": (data) => ({ value: battery.parseLevel(data) }),
};
export const PARSER_NAMES = Object.keys(PARSERS);

const REQUESTS = { report_all: racp.reportAll, report_after: racp.reportAfter, report_count: racp.reportCount };

const hexOf = (data) => Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();

export function run(vector) {
  if (vector.parser === "racp.request") {
    const args = "argument" in vector ? [vector.argument] : [];
    return { hex: hexOf(REQUESTS[vector.request](...args)) };
  }
  try {
    return { result: plain(PARSERS[vector.parser](bytes(vector.hex))) };
  } catch (error) {
    if (!(error instanceof ParseError)) throw error;
    return { error: { field: error.field, offset: error.offset, message: error.message } };
  }
}
