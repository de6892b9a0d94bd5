// Record Access Control Point 0x2A52 (device_agent/gatt/racp.py). The app writes
// `opcode, operator, [filter type, operand]`; the device indicates a Number of Stored Records
// (`05 00 <u16>`) or a Response Code (`06 00 <request opcode> <code>`). Records arrive on
// their own characteristic (0x2A18) between the request and the response code.
import { type Bytes, Reader } from "./reader";

export const UUID = 0x2a52;

export const REPORT_STORED_RECORDS = 1;
export const ABORT_OPERATION = 3;
export const REPORT_NUMBER_OF_RECORDS = 4;
export const NUMBER_OF_RECORDS_RESPONSE = 5;
export const RESPONSE_CODE = 6;
export const SUCCESS = 1;
export const NO_RECORDS_FOUND = 6;

const OPCODES = new Set([1, 2, 3, 4, 5, 6]);
const CODES = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9]);

/** Report every stored record: 01 01. */
export function reportAll(): Uint8Array<ArrayBuffer> {
  return Uint8Array.of(REPORT_STORED_RECORDS, 1);
}

/** Records after the last one the app has (sequence number ≥ last + 1): 01 03 01 <u16>. */
export function reportAfter(lastSequenceNumber: number): Uint8Array<ArrayBuffer> {
  if (!Number.isInteger(lastSequenceNumber) || lastSequenceNumber < 0 || lastSequenceNumber >= 0xffff) {
    throw new RangeError(`no sequence number can follow ${lastSequenceNumber}; use reportAll()`);
  }
  const next = lastSequenceNumber + 1;
  return Uint8Array.of(REPORT_STORED_RECORDS, 3, 1, next & 0xff, next >> 8);
}

/** How many records are stored: 04 01. */
export function reportCount(): Uint8Array<ArrayBuffer> {
  return Uint8Array.of(REPORT_NUMBER_OF_RECORDS, 1);
}

export type Response = { kind: "count"; count: number } | { kind: "response"; request_opcode: number; code: number; ok: boolean };

/** Parse an RACP indication. Throws ParseError for other opcodes or unknown codes. */
export function parseResponse(data: Bytes): Response {
  const reader = new Reader(data, "RACP response");
  const opcode = reader.u8("opcode");
  reader.u8("operator");
  if (opcode === NUMBER_OF_RECORDS_RESPONSE) return { kind: "count", count: reader.u16("number_of_records") };
  if (opcode === RESPONSE_CODE) {
    const request = reader.u8("request_opcode");
    if (!OPCODES.has(request)) throw reader.error(`unknown request opcode ${request}`, "request_opcode", 2);
    const code = reader.u8("response_code");
    if (!CODES.has(code)) throw reader.error(`unknown response code ${code}`, "response_code", 3);
    return { kind: "response", request_opcode: request, code, ok: code === SUCCESS };
  }
  throw reader.error(`opcode ${opcode} is not a response (expected 5 or 6)`, "opcode", 0);
}
