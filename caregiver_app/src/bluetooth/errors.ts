// The one error a parser throws for malformed bytes, as device_agent/gatt/errors.py: the
// message names what was parsed, the field and the byte offset, e.g.
// "blood pressure measurement: field 'pulse_rate' at byte 14: truncated: needs 2 byte(s), 1 left".
export class ParseError extends Error {
  readonly field: string | null;
  readonly offset: number | null;
  readonly context: string | null;

  constructor(message: string, where: { field?: string | null; offset?: number | null; context?: string | null } = {}) {
    const field = where.field ?? null;
    const offset = where.offset ?? null;
    const context = where.context ?? null;
    const parts = context ? [context] : [];
    const place = [field !== null ? `field '${field}'` : "", offset !== null ? `at byte ${offset}` : ""].filter(Boolean).join(" ");
    if (place) parts.push(place);
    parts.push(message);
    super(parts.join(": "));
    this.name = "ParseError";
    this.field = field;
    this.offset = offset;
    this.context = context;
  }
}
