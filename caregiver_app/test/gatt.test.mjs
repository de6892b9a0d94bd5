// The TypeScript GATT parsers on the byte vectors they share with device_agent/gatt/
// (tests/vectors/gatt.json). Run by `node --test test/` and from pytest
// (tests/server/careapp/test_gatt_agreement.py, which also compares whole results with Python's).
import assert from "node:assert/strict";
import { test } from "node:test";
import { load, run } from "./gatt-vectors.mjs";

for (const vector of load()) {
  test(vector.name, () => {
    const got = run(vector);
    if (vector.parser === "racp.request") {
      assert.equal(got.hex, vector.hex.replace(/\s+/g, "").toUpperCase());
    } else if ("error" in vector) {
      assert.ok(got.error, `expected a ParseError, got ${JSON.stringify(got)}`);
      assert.equal(got.error.field, vector.error.field);
      assert.equal(got.error.offset, vector.error.offset);
    } else {
      assert.ok(got.result, `unexpected ParseError: ${JSON.stringify(got)}`);
      const picked = Object.fromEntries(Object.keys(vector.expect).map((k) => [k, got.result[k]]));
      assert.deepEqual(picked, vector.expect);
    }
  });
}
