// Pulse Oximeter service 0x1822 (device_agent/gatt/pulse_oximeter.py).
// Spot-check 0x2A5E (indicate): flags | SpO2 | PR | [Date Time, b0] | [measurement status
// u16, b1] | [device and sensor status u24, b2] | [pulse amplitude index, b3]; b4 = the
// device clock is not set (its timestamp is then meaningless).
// Continuous 0x2A5F (notify): flags | SpO2 | PR | [fast SpO2 + PR, b0] | [slow SpO2 + PR, b1] |
// [measurement status u16, b2] | [device and sensor status u24, b3] | [PAI, b4].
// Status fields are kept as their raw bits (the Python side's IntFlag values).
import { type DateTime, readDateTime, toIso } from "./dateTime";
import { type Bytes, Reader } from "./reader";

export const SERVICE = 0x1822;
export const SPOT_CHECK = 0x2a5e;
export const CONTINUOUS = 0x2a5f;

export interface SpotCheck {
  spo2: number;
  pulse_rate: number;
  timestamp: string | null;
  timestamp_fields: DateTime | null;
  measurement_status: number | null;
  device_sensor_status: number | null;
  pulse_amplitude_index: number | null;
  device_clock_not_set: boolean;
}

export interface Continuous {
  spo2: number;
  pulse_rate: number;
  spo2_fast: number | null;
  pulse_rate_fast: number | null;
  spo2_slow: number | null;
  pulse_rate_slow: number | null;
  measurement_status: number | null;
  device_sensor_status: number | null;
  pulse_amplitude_index: number | null;
}

/** Parse a PLX Spot-check Measurement. Throws ParseError on malformed bytes. */
export function parseSpotCheck(data: Bytes): SpotCheck {
  const reader = new Reader(data, "PLX spot-check measurement");
  const flags = reader.u8("flags");
  const spo2 = reader.sfloat("spo2");
  const pulse_rate = reader.sfloat("pulse_rate");
  const fields = flags & 0x01 ? readDateTime(reader, "timestamp") : null;
  const measurement_status = flags & 0x02 ? reader.u16("measurement_status") : null;
  const device_sensor_status = flags & 0x04 ? reader.u24("device_sensor_status") : null;
  const pulse_amplitude_index = flags & 0x08 ? reader.sfloat("pulse_amplitude_index") : null;
  const device_clock_not_set = Boolean(flags & 0x10);
  return {
    spo2,
    pulse_rate,
    timestamp: fields && !device_clock_not_set ? toIso(fields) : null,
    timestamp_fields: fields,
    measurement_status,
    device_sensor_status,
    pulse_amplitude_index,
    device_clock_not_set,
  };
}

/** Parse a PLX Continuous Measurement. Throws ParseError on malformed bytes. */
export function parseContinuous(data: Bytes): Continuous {
  const reader = new Reader(data, "PLX continuous measurement");
  const flags = reader.u8("flags");
  const spo2 = reader.sfloat("spo2");
  const pulse_rate = reader.sfloat("pulse_rate");
  let spo2_fast = null, pulse_rate_fast = null, spo2_slow = null, pulse_rate_slow = null;
  if (flags & 0x01) {
    spo2_fast = reader.sfloat("spo2_fast");
    pulse_rate_fast = reader.sfloat("pulse_rate_fast");
  }
  if (flags & 0x02) {
    spo2_slow = reader.sfloat("spo2_slow");
    pulse_rate_slow = reader.sfloat("pulse_rate_slow");
  }
  const measurement_status = flags & 0x04 ? reader.u16("measurement_status") : null;
  const device_sensor_status = flags & 0x08 ? reader.u24("device_sensor_status") : null;
  const pulse_amplitude_index = flags & 0x10 ? reader.sfloat("pulse_amplitude_index") : null;
  return { spo2, pulse_rate, spo2_fast, pulse_rate_fast, spo2_slow, pulse_rate_slow, measurement_status, device_sensor_status, pulse_amplitude_index };
}
