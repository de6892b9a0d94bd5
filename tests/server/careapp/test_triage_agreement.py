"""The tablet's triage (caregiver_app/src/triage.ts, thresholds exported from triage.RULE_SET)
and the server's `triage.assess_vitals` give the same colour and the same reasons on every
boundary of the rule set: each threshold, either side of it, and the rounding half-way."""

from __future__ import annotations

import json
import shutil
import subprocess
from itertools import product
from pathlib import Path
from typing import Any

import pytest

import triage
from server.careapp.export import rules_data
from tests.server.careapp.conftest import app_built

ROOT = Path(__file__).resolve().parents[3]
BUNDLE = ROOT / "caregiver_app" / "build" / "triage.mjs"
GENERATED = ROOT / "caregiver_app" / "generated" / "triage-rules.json"

RUNNER = """
import { readFileSync } from "node:fs";
const { assessVitals } = await import(process.argv[1]);
const cases = JSON.parse(readFileSync(0, "utf8"));
const out = cases.map((c) => {
  const a = assessVitals(c.readings, { overrides: c.overrides, onOxygen: c.on_oxygen,
    consciousness: c.consciousness });
  return { priority: a.priority, reasons: a.reasons, rejected: Object.keys(a.rejected).sort() };
});
process.stdout.write(JSON.stringify(out));
"""


def _around(value: float, step: float = 1) -> list[float]:
    return [value - step, value - step / 2, value, value + step / 2, value + step]


def boundary_cases() -> list[dict[str, Any]]:
    rs = triage.RULE_SET
    cases: list[dict[str, Any]] = []

    def add(readings: dict[str, float], **extra: Any) -> None:
        cases.append({"readings": readings, "overrides": None, "on_oxygen": False,
                      "consciousness": None, **extra})  # fmt: skip

    n = rs.news2
    for code, ladder in (
        ("respiration_rate", n.respiration_rate), ("pulse", n.pulse),
        ("temperature", n.temperature), ("systolic", n.systolic),
    ):  # fmt: skip
        for upper, _ in ladder.steps:
            for v in _around(float(upper), float(ladder.resolution)):
                add({code: v})
    for scale, oxygen in product((1, 2), (False, True)):
        ladder = n.spo2_scale_1 if scale == 1 else n.spo2_scale_2_oxygen
        for upper, _ in ladder.steps:
            for v in _around(float(upper)):
                if 1 <= v <= 100:
                    add({"spo2": v}, on_oxygen=oxygen,
                        overrides={"spo2_scale": 2} if scale == 2 else None)  # fmt: skip
    bp = rs.blood_pressure  # the deployment's set (the Thai guideline by default)
    for s in (bp.hypotension_systolic_max, bp.crisis_systolic_min,
              *(b.systolic_min for b in bp.bands)):  # fmt: skip
        for v in _around(float(s)):
            add({"systolic": v, "diastolic": 70})
            add({"systolic": v, "diastolic": 95})
    diastolic_lines = [bp.crisis_diastolic_min, *(b.diastolic_min for b in bp.bands)]
    if bp.isolated_systolic_below is not None:
        diastolic_lines.append(bp.isolated_systolic_below)
    for d in (d for d in diastolic_lines if d is not None):
        for v in _around(float(d)):
            add({"systolic": 185, "diastolic": v})
            add({"systolic": 125, "diastolic": v})
    add({"systolic": 120, "diastolic": 130})  # swapped: both rejected
    add({"systolic": 140})  # incomplete
    bp_target = {"bp_target": {"systolic_max": 150, "diastolic_max": 90}}
    for s in (139, 150, 150.5, 151, 185):
        add({"systolic": s, "diastolic": 85}, overrides=bp_target)
    g = rs.glucose
    for limit in (g.level_2_below, g.level_1_below, g.default_target_high, g.urgent_above,
                  g.emergency_above):  # fmt: skip
        for v in _around(float(limit)):
            add({"glucose": v})
            add({"glucose": v}, consciousness="new_confusion")
    for v in (99, 100, 140, 140.5, 141):
        add({"glucose": v}, overrides={"glucose_target": {"low": 100, "high": 140}})
    for v in (91, 92, 94, 95, 96):
        add({"spo2": v}, overrides={"spo2_target": {"low": 92, "high": 96}}, on_oxygen=True)
        add({"spo2": v}, overrides={"spo2_target": {"low": 92, "high": 96}})
    for level in ("alert", "new_confusion", "voice", "pain", "unresponsive"):
        add({"pulse": 80}, consciousness=level)
    for code, plausible in rs.plausible.ranges.items():
        if code == "mean_arterial_pressure":
            continue
        for v in (plausible.low - 1, plausible.low, plausible.high, plausible.high + 1):
            add({code: v})
    # Whole sets: NEWS2 bands from their parts.
    add({"respiration_rate": 22, "spo2": 94, "systolic": 105, "diastolic": 70, "pulse": 105,
         "temperature": 38.4}, consciousness="alert")  # fmt: skip
    add({"respiration_rate": 25, "spo2": 91, "systolic": 95, "diastolic": 60, "pulse": 125,
         "temperature": 39.2}, consciousness="voice", on_oxygen=True)  # fmt: skip
    add({"systolic": 150, "diastolic": 90, "pulse": 88, "spo2": 85})
    return cases


def server_result(case: dict[str, Any]) -> dict[str, Any]:
    overrides = triage.Overrides.model_validate(case["overrides"]) if case["overrides"] else None
    a = triage.assess_vitals(
        readings=case["readings"], overrides=overrides, on_oxygen=case["on_oxygen"],
        consciousness=case["consciousness"],
    )  # fmt: skip
    return {
        "priority": a.priority.value if a.priority else None,
        "reasons": [{"key": r.key, "params": r.params} for r in a.reasons],
        "rejected": sorted(a.rejected),
    }


def test_the_exported_rule_set_is_the_servers() -> None:
    app_built()
    assert json.loads(GENERATED.read_text(encoding="utf-8")) == json.loads(
        json.dumps(rules_data())
    ), "caregiver_app/generated is stale: run `make app`"


def test_browser_and_server_triage_agree_on_every_boundary() -> None:
    app_built()
    node = shutil.which("node") or str(ROOT / ".venv" / "bin" / "node")
    if not Path(node).exists():
        pytest.fail("node is not available: run `make app`", pytrace=False)
    cases = boundary_cases()
    assert len(cases) > 250
    done = subprocess.run(
        [node, "--input-type=module", "-e", RUNNER, BUNDLE.as_uri()],
        input=json.dumps(cases), capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    browser = json.loads(done.stdout)
    mismatches = [
        (case, server, tablet)
        for case, tablet in zip(cases, browser, strict=True)
        if (server := json.loads(json.dumps(server_result(case)))) != tablet
    ]
    assert mismatches == [], f"{len(mismatches)} disagree; first: {mismatches[0]}"
    colours = {b["priority"] for b in browser}
    assert colours == {"RED", "YELLOW", "GREEN", "WHITE", None}
