// Glucose service 0x1808: Glucose Measurement 0x2A18 (device_agent/gatt/glucose.py).
// flags | sequence u16 | base time (Date Time) | [time offset s16 minutes, b0] |
// [concentration SFLOAT + type/location u8, b1] | [sensor status u16, b3]; b2 = unit
// (0 kg/L, 1 mol/L); b4 = a context record (0x2A34) follows.
// mg/dL and mmol/L are both filled: the unit sent is scaled exactly (kg/L × 100,000; mol/L ×
// 1,000), the other through 18.0182 mg/dL per mmol/L rounded to 2 (mg/dL) or 3 (mmol/L)
// decimals, the way Python's round() does it.
import { addMinutes, type DateTime, readDateTime, toIso } from "./dateTime";
import { type Bytes, Reader } from "./reader";
import { decode } from "./sfloat";

export const SERVICE = 0x1808;
export const MEASUREMENT = 0x2a18;
export const CONTEXT = 0x2a34;
export const MG_DL_PER_MMOL_L = 18.0182;

const SAMPLE_TYPES = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
const SAMPLE_LOCATIONS = new Set([1, 2, 3, 4, 15]);
const CONTROL_SOLUTION_TYPE = 10;
const CONTROL_SOLUTION_LOCATION = 4;

export interface Measurement {
  sequence_number: number;
  base_time: string | null;
  base_time_fields: DateTime;
  time_offset_minutes: number | null;
  timestamp: string | null;
  concentration: number | null;
  unit: "kg/L" | "mol/L";
  mg_dl: number | null;
  mmol_l: number | null;
  sample_type: number | null;
  sample_location: number | null;
  type_location_raw: number | null;
  is_control_solution: boolean;
  sensor_status: number | null;
  context_follows: boolean;
}

/** Python's round(x, digits) for a double: the nearest decimal, ties (exact halves of the
 * binary value) to even. toFixed rounds exact ties up, so those are settled here; a tie is
 * exactly when x · 2^(digits+1) is an odd integer. */
export function roundHalfEven(x: number, digits: number): number {
  const twice = x * 2 ** (digits + 1); // exact: a power of two
  if (Number.isInteger(twice) && Math.abs(twice % 2) === 1) {
    const scaled = x * 10 ** digits; // n + 0.5, exactly representable
    const low = Math.floor(scaled);
    const even = low % 2 === 0 ? low : low + 1;
    return even / 10 ** digits;
  }
  return Number(x.toFixed(digits));
}

/** Parse a Glucose Measurement. Throws ParseError on malformed bytes. */
export function parseMeasurement(data: Bytes): Measurement {
  const reader = new Reader(data, "glucose measurement");
  const flags = reader.u8("flags");
  const sequence_number = reader.u16("sequence_number");
  const base_time_fields = readDateTime(reader, "base_time");
  const time_offset_minutes = flags & 0x01 ? reader.s16("time_offset") : null;
  const unit = flags & 0x04 ? "mol/L" : "kg/L";
  let concentration: number | null = null;
  let mg_dl: number | null = null;
  let mmol_l: number | null = null;
  let sample_type: number | null = null;
  let sample_location: number | null = null;
  let type_location_raw: number | null = null;
  if (flags & 0x02) {
    const raw = reader.u16("concentration");
    concentration = decode(raw);
    if (unit === "kg/L") {
      mg_dl = decode(raw, 5);
      mmol_l = roundHalfEven(mg_dl / MG_DL_PER_MMOL_L, 3);
    } else {
      mmol_l = decode(raw, 3);
      mg_dl = roundHalfEven(mmol_l * MG_DL_PER_MMOL_L, 2);
    }
    type_location_raw = reader.u8("type_sample_location");
    const type = type_location_raw & 0x0f;
    const location = type_location_raw >> 4;
    sample_type = SAMPLE_TYPES.has(type) ? type : null;
    sample_location = SAMPLE_LOCATIONS.has(location) ? location : null;
  }
  const sensor_status = flags & 0x08 ? reader.u16("sensor_status") : null;
  const base_time = toIso(base_time_fields);
  let timestamp: string | null = null;
  if (base_time !== null) {
    timestamp = addMinutes(base_time, time_offset_minutes ?? 0);
    if (timestamp === null) throw reader.error("base time plus offset is outside the representable dates", "time_offset");
  }
  return {
    sequence_number,
    base_time,
    base_time_fields,
    time_offset_minutes,
    timestamp,
    concentration,
    unit,
    mg_dl,
    mmol_l,
    sample_type,
    sample_location,
    type_location_raw,
    is_control_solution: sample_type === CONTROL_SOLUTION_TYPE || sample_location === CONTROL_SOLUTION_LOCATION,
    sensor_status,
    context_follows: Boolean(flags & 0x10),
  };
}
