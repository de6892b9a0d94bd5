// A bounds-checked cursor over bytes (device_agent/gatt/_reader.py): every read names its
// field, so a ParseError says where the bytes went wrong.
import { ParseError } from "./errors";
import { decode } from "./sfloat";

export type Bytes = DataView | Uint8Array | ArrayBuffer;

export function asBytes(data: Bytes): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof DataView) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

export class Reader {
  readonly data: Uint8Array;
  readonly what: string;
  offset = 0;

  constructor(data: Bytes, what: string) {
    this.data = asBytes(data);
    this.what = what;
  }

  get remaining(): number {
    return this.data.length - this.offset;
  }

  error(message: string, field: string, offset?: number): ParseError {
    return new ParseError(message, { field, offset: offset ?? this.offset, context: this.what });
  }

  take(size: number, field: string): Uint8Array {
    if (this.remaining < size) {
      throw this.error(`truncated: needs ${size} byte(s), ${this.remaining} left`, field);
    }
    const chunk = this.data.subarray(this.offset, this.offset + size);
    this.offset += size;
    return chunk;
  }

  private le(size: number, field: string): number {
    const chunk = this.take(size, field);
    let value = 0;
    for (let i = size - 1; i >= 0; i--) value = value * 256 + chunk[i];
    return value;
  }

  u8(field: string): number {
    return this.le(1, field);
  }

  u16(field: string): number {
    return this.le(2, field);
  }

  s16(field: string): number {
    const value = this.le(2, field);
    return value >= 0x8000 ? value - 0x10000 : value;
  }

  u24(field: string): number {
    return this.le(3, field);
  }

  sfloat(field: string, scale = 0): number {
    return decode(this.u16(field), scale);
  }
}
