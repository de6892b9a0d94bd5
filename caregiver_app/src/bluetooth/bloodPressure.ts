// Blood Pressure service 0x1810 (device_agent/gatt/blood_pressure.py): Measurement 0x2A35
// (indicate) and Intermediate Cuff Pressure 0x2A36 (notify).
// flags u8 | systolic SFLOAT | diastolic SFLOAT | mean arterial pressure SFLOAT |
// [Date Time, bit1] | [pulse rate SFLOAT, bit2] | [user id u8, bit3] | [status u16, bit4];
// bit0 selects the unit (0 mmHg, 1 kPa). Reserved bits and trailing bytes are ignored.
import { type DateTime, readDateTime, toIso } from "./dateTime";
import { type Bytes, Reader } from "./reader";

export const SERVICE = 0x1810;
export const MEASUREMENT = 0x2a35;
export const INTERMEDIATE_CUFF_PRESSURE = 0x2a36;

const FLAG_UNIT_KPA = 0x01;
const FLAG_TIMESTAMP = 0x02;
const FLAG_PULSE_RATE = 0x04;
const FLAG_USER_ID = 0x08;
const FLAG_STATUS = 0x10;
const UNKNOWN_USER = 0xff;

export type PulseRange = "within" | "above" | "below" | "reserved";
const PULSE_RANGES: PulseRange[] = ["within", "above", "below", "reserved"];

export interface MeasurementStatus {
  raw: number;
  body_movement: boolean;
  cuff_too_loose: boolean;
  irregular_pulse: boolean;
  pulse_range: PulseRange;
  improper_position: boolean;
}

export interface Measurement {
  systolic: number;
  diastolic: number;
  mean_arterial_pressure: number;
  unit: "mmHg" | "kPa";
  timestamp: string | null;
  timestamp_fields: DateTime | null;
  pulse_rate: number | null;
  user_id: number | null;
  status: MeasurementStatus | null;
}

export interface IntermediateCuffPressure {
  cuff_pressure: number;
  unit: "mmHg" | "kPa";
  timestamp: string | null;
  timestamp_fields: DateTime | null;
  pulse_rate: number | null;
  user_id: number | null;
  status: MeasurementStatus | null;
}

export function statusFromRaw(raw: number): MeasurementStatus {
  return {
    raw,
    body_movement: Boolean(raw & 0x0001),
    cuff_too_loose: Boolean(raw & 0x0002),
    irregular_pulse: Boolean(raw & 0x0004),
    pulse_range: PULSE_RANGES[(raw >> 3) & 0x03],
    improper_position: Boolean(raw & 0x0020),
  };
}

function parse(data: Bytes, what: string, names: [string, string, string]) {
  const reader = new Reader(data, what);
  const flags = reader.u8("flags");
  const values = [reader.sfloat(names[0]), reader.sfloat(names[1]), reader.sfloat(names[2])];
  const timestamp_fields = flags & FLAG_TIMESTAMP ? readDateTime(reader, "timestamp") : null;
  const pulse_rate = flags & FLAG_PULSE_RATE ? reader.sfloat("pulse_rate") : null;
  let user_id: number | null = null;
  if (flags & FLAG_USER_ID) {
    user_id = reader.u8("user_id");
    if (user_id === UNKNOWN_USER) user_id = null;
  }
  const status = flags & FLAG_STATUS ? statusFromRaw(reader.u16("status")) : null;
  return {
    values,
    unit: (flags & FLAG_UNIT_KPA ? "kPa" : "mmHg") as "mmHg" | "kPa",
    timestamp: timestamp_fields ? toIso(timestamp_fields) : null,
    timestamp_fields,
    pulse_rate,
    user_id,
    status,
  };
}

/** Parse a Blood Pressure Measurement (0x2A35). Throws ParseError on malformed bytes. */
export function parseMeasurement(data: Bytes): Measurement {
  const { values, ...rest } = parse(data, "blood pressure measurement", ["systolic", "diastolic", "mean_arterial_pressure"]);
  return { systolic: values[0], diastolic: values[1], mean_arterial_pressure: values[2], ...rest };
}

/** Parse an Intermediate Cuff Pressure (0x2A36): the cuff pressure sits in the systolic field. */
export function parseIntermediateCuffPressure(data: Bytes): IntermediateCuffPressure {
  const { values, ...rest } = parse(data, "intermediate cuff pressure", ["cuff_pressure", "diastolic_unused", "mean_arterial_pressure_unused"]);
  return { cuff_pressure: values[0], ...rest };
}
