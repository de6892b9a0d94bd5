"""The Python parsers on the byte vectors they share with the care app's TypeScript parsers
(tests/vectors/gatt.json; the TypeScript side: tests/server/careapp/test_gatt_agreement.py)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import gatt_vectors

VECTORS = gatt_vectors.load()


def test_the_file_covers_every_parser_and_malformed_bytes() -> None:
    parsers = {v["parser"] for v in VECTORS}
    assert parsers == {*gatt_vectors.PARSERS, "racp.request"}
    for parser in gatt_vectors.PARSERS:
        kinds = {"error" if "error" in v else "expect" for v in VECTORS if v["parser"] == parser}
        assert kinds == {"error", "expect"}, parser
    assert len({v["name"] for v in VECTORS}) == len(VECTORS)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_python_parsers_decode_the_shared_vectors(vector: dict[str, Any]) -> None:
    got = gatt_vectors.run(vector)
    if vector["parser"] == "racp.request":
        assert got["hex"] == vector["hex"].replace(" ", "").upper()
    elif "error" in vector:
        assert "error" in got, got
        assert got["error"]["field"] == vector["error"]["field"]
        assert got["error"]["offset"] == vector["error"]["offset"]
    else:
        assert "result" in got, got
        result = got["result"]
        assert {k: result[k] for k in vector["expect"]} == vector["expect"]
