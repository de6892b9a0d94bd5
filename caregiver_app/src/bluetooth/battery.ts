// Battery service 0x180F: Battery Level 0x2A19, one byte of percent (device_agent/gatt/battery.py).
import { type Bytes, Reader } from "./reader";

export const SERVICE = 0x180f;
export const LEVEL = 0x2a19;

/** The battery level in percent; above 100 is malformed (ParseError). */
export function parseLevel(data: Bytes): number {
  const reader = new Reader(data, "battery level");
  const level = reader.u8("level");
  if (level > 100) throw reader.error(`level ${level} is above 100 %`, "level", 0);
  return level;
}
