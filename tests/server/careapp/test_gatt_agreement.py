"""The care app's TypeScript GATT parsers (caregiver_app/src/bluetooth/) and the hub's Python
ones (device_agent/gatt/) on one shared file of byte vectors (tests/vectors/gatt.json): node's
own test runner checks the TypeScript side against the hand-written expectations, and every
vector's whole result (or ParseError field, offset and message) must be the same on both."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.server.careapp.conftest import app_built
from tests.support import gatt_vectors

ROOT = Path(__file__).resolve().parents[3]
APP = ROOT / "caregiver_app"
HARNESS = APP / "test" / "gatt-vectors.mjs"

RUNNER = """
const { load, run } = await import(process.argv[1]);
process.stdout.write(JSON.stringify(load().map(run)));
"""


def _node() -> str:
    node = shutil.which("node") or str(ROOT / ".venv" / "bin" / "node")
    if not Path(node).exists():
        pytest.fail("node is not available: run `make app`", pytrace=False)
    if not (APP / "build" / "gatt.mjs").is_file():
        pytest.fail("caregiver_app/build/gatt.mjs is missing: run `make app`", pytrace=False)
    return node


def test_node_test_runner_passes_the_shared_vectors() -> None:
    app_built()
    done = subprocess.run(
        [_node(), "--test", "--test-reporter=tap", "test/gatt.test.mjs"],
        cwd=APP, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert f"# pass {len(gatt_vectors.load())}" in done.stdout, done.stdout[-2000:]


def test_typescript_and_python_parsers_agree_on_every_vector() -> None:
    app_built()
    vectors = gatt_vectors.load()
    done = subprocess.run(
        [_node(), "--input-type=module", "-e", RUNNER, HARNESS.as_uri()],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    tablet = json.loads(done.stdout)
    python = [json.loads(json.dumps(gatt_vectors.run(v))) for v in vectors]
    mismatches = [
        (v["name"], p, t) for v, p, t in zip(vectors, python, tablet, strict=True) if p != t
    ]
    assert mismatches == [], f"{len(mismatches)} disagree; first: {mismatches[0]}"
    assert sum("error" in t for t in tablet) >= 20
