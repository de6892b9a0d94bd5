// IEEE-11073 16-bit SFLOAT (device_agent/gatt/sfloat.py): top 4 bits a signed exponent, low
// 12 bits a signed mantissa, value = mantissa · 10^exponent. The exponent is NOT biased.
// NaN, NRes and the reserved value decode to NaN (the other fields of the reading stay usable).
// The value is computed from the integer mantissa with one correctly rounded division, as the
// Python parser does, so 0xF0B8 is 18.4 (not 18.400000000000002) on both sides.
import { ParseError } from "./errors";

export const NAN = 0x07ff;
export const NRES = 0x0800;
export const POSITIVE_INFINITY = 0x07fe;
export const NEGATIVE_INFINITY = 0x0802;
export const RESERVED = 0x0801;

const SPECIAL = new Map<number, number>([
  [NAN, Number.NaN],
  [NRES, Number.NaN],
  [RESERVED, Number.NaN],
  [POSITIVE_INFINITY, Number.POSITIVE_INFINITY],
  [NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY],
]);

/** Decode the 16-bit value; `scale` adds a power of ten before the one rounding step
 * (glucose kg/L → mg/dL is scale 5). */
export function decode(raw: number, scale = 0): number {
  if (!Number.isInteger(raw) || raw < 0 || raw > 0xffff) {
    throw new ParseError(`SFLOAT: raw value ${raw} is outside 0..0xFFFF`);
  }
  const special = SPECIAL.get(raw);
  if (special !== undefined) return special;
  let exponent = raw >> 12;
  if (exponent >= 8) exponent -= 16;
  let mantissa = raw & 0x0fff;
  if (mantissa >= 0x0800) mantissa -= 0x1000;
  const power = exponent + scale;
  if (power >= 0) return mantissa * 10 ** power;
  // Integer ÷ integer (both exact below 2^53) is correctly rounded, as in Python.
  return mantissa / 10 ** -power;
}

/** Decode an SFLOAT from its 2 little-endian bytes. */
export function decodeBytes(data: Uint8Array): number {
  if (data.length !== 2) throw new ParseError(`SFLOAT: needs exactly 2 bytes, got ${data.length}`);
  return decode(data[0] | (data[1] << 8));
}
