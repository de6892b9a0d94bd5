// Date Time (0x2A08 layout, 7 bytes), as device_agent/gatt/date_time.py: year u16, month,
// day, hour, minute, second. A year, month or day of 0 means "unknown" (null here), not an
// error; values outside what the specification allows are malformed (ParseError).
// The device clock has no zone: a complete value becomes a naive ISO text
// "YYYY-MM-DDTHH:MM:SS" (the same text Python's datetime.isoformat() gives).
import { type Bytes, Reader } from "./reader";

export const MIN_YEAR = 1582;
export const MAX_YEAR = 9999;

export interface DateTime {
  year: number | null;
  month: number | null;
  day: number | null;
  hour: number;
  minute: number;
  second: number;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** The naive ISO text of a complete value; null when any date part is unknown. */
export function toIso(value: DateTime): string | null {
  if (value.year === null || value.month === null || value.day === null) return null;
  return `${pad(value.year, 4)}-${pad(value.month)}-${pad(value.day)}T${pad(value.hour)}:${pad(value.minute)}:${pad(value.second)}`;
}

/** A naive ISO text moved by whole minutes (glucose time offsets); null past year 1..9999. */
export function addMinutes(iso: string, minutes: number): string | null {
  const [date, time] = iso.split("T");
  const [y, mo, d] = date.split("-").map(Number);
  const [h, mi, s] = time.split(":").map(Number);
  const at = new Date(0);
  at.setUTCFullYear(y, mo - 1, d);
  at.setUTCHours(h, mi + minutes, s, 0);
  const year = at.getUTCFullYear();
  if (year < 1 || year > MAX_YEAR) return null;
  return `${pad(year, 4)}-${pad(at.getUTCMonth() + 1)}-${pad(at.getUTCDate())}T${pad(at.getUTCHours())}:${pad(at.getUTCMinutes())}:${pad(at.getUTCSeconds())}`;
}

export function readDateTime(reader: Reader, field: string): DateTime {
  const start = reader.offset;
  const year = reader.u16(`${field}.year`);
  const month = reader.u8(`${field}.month`);
  const day = reader.u8(`${field}.day`);
  const hour = reader.u8(`${field}.hour`);
  const minute = reader.u8(`${field}.minute`);
  const second = reader.u8(`${field}.second`);
  const bad = (part: string, delta: number, message: string) => reader.error(message, `${field}.${part}`, start + delta);
  if (year !== 0 && (year < MIN_YEAR || year > MAX_YEAR)) {
    throw bad("year", 0, `year ${year} is outside ${MIN_YEAR}..${MAX_YEAR} (0 = unknown)`);
  }
  if (month > 12) throw bad("month", 2, `month ${month} is outside 1..12 (0 = unknown)`);
  if (month !== 0 && day !== 0) {
    // With the year unknown, allow 29 February (a leap year is possible).
    if (day > daysInMonth(year || 2000, month)) throw bad("day", 3, `day ${day} does not exist in month ${month}`);
  } else if (day > 31) {
    throw bad("day", 3, `day ${day} is outside 1..31 (0 = unknown)`);
  }
  if (hour > 23) throw bad("hour", 4, `hour ${hour} is outside 0..23`);
  if (minute > 59) throw bad("minute", 5, `minute ${minute} is outside 0..59`);
  if (second > 59) throw bad("second", 6, `second ${second} is outside 0..59`);
  return { year: year || null, month: month || null, day: day || null, hour, minute, second };
}

/** Parse a standalone Date Time characteristic (0x2A08). */
export function parseDateTime(data: Bytes): DateTime {
  return readDateTime(new Reader(data, "date time"), "date_time");
}
