// Parsers for the bytes of the standard health-device GATT profiles, the same specifications
// (and the same shared test vectors, tests/vectors/gatt.json) as device_agent/gatt/.
// Pure functions of bytes; malformed bytes throw ParseError, nothing else escapes.
export * as battery from "./battery";
export * as bloodPressure from "./bloodPressure";
export * as dateTime from "./dateTime";
export { ParseError } from "./errors";
export * as glucose from "./glucose";
export * as pulseOximeter from "./pulseOximeter";
export * as racp from "./racp";
export * as sfloat from "./sfloat";
