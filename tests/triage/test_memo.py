"""The memoised triage gives exactly what the plain computation gives, case for case.

Every reading near a boundary of the rule set (each band edge, a step either side, halves
that round, implausible values), alone and in home-kit sets, with and without personal
targets, on both blood-pressure rule sets, as ints and as floats: computed once with the
memo tables off (the reference), then twice with them on (cold, then from the table).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from triage import RULE_SET, BpTarget, Overrides, TargetRange, VitalsAssessment, assess_vitals
from triage.memo import reference

TARGETS = [
    None,
    Overrides(bp_target=BpTarget(systolic_max=150, diastolic_max=90)),
    Overrides(spo2_scale=2, spo2_target=TargetRange(low=88, high=92)),
    Overrides(glucose_target=TargetRange(low=80, high=180)),
]
EDGES: dict[str, list[float]] = {
    "systolic": [40, 70, 89, 90, 91, 100, 101, 110, 111, 119.5, 120, 129, 130, 134.5, 135,
                 139, 140, 159, 160, 179, 180, 181, 219, 220, 260, 301],
    "diastolic": [30, 59, 60, 79, 80, 84, 85, 89, 89.5, 90, 99, 100, 109, 110, 120, 121],
    "pulse": [0, 35, 40, 41, 50, 51, 90, 91, 110, 111, 130, 131, 250, math.nan],
    "spo2": [50, 83, 84, 85, 86, 87, 88, 91, 92, 93, 94, 95, 96, 97, 100, 101],
    "respiration_rate": [4, 8, 9, 11, 12, 20, 21, 24, 25, 61],
    "temperature": [30.0, 35.0, 35.1, 36.0, 36.1, 38.0, 38.1, 39.0, 39.1, 45.0, 98.6],
    "glucose": [20, 53, 54, 69, 70, 80, 180, 181, 250, 251, 400, 1000],
}  # fmt: skip


def _cases() -> Iterator[tuple[Mapping[str, float], bool, str | None]]:
    for code, values in EDGES.items():
        for value in values:
            yield {code: value}, False, None
            if not math.isnan(value) and value == int(value):
                yield {code: int(value)}, False, None
    for systolic, diastolic in itertools.product(EDGES["systolic"], EDGES["diastolic"]):
        yield {"systolic": systolic, "diastolic": diastolic, "pulse": 72}, False, None
    for spo2, pulse in itertools.product(EDGES["spo2"], EDGES["pulse"][::3]):
        for on_oxygen, level in ((False, None), (True, "alert"), (False, "new_confusion")):
            yield {"spo2": spo2, "pulse": pulse, "respiration_rate": 18}, on_oxygen, level
    yield {"systolic": 118, "diastolic": 76, "mean_arterial_pressure": 90, "x": 1}, False, None


def _compare(expected: VitalsAssessment, got: VitalsAssessment) -> None:
    assert got.model_dump_json() == expected.model_dump_json()
    assert got == expected


@pytest.mark.parametrize("rules_name", sorted(RULE_SET.blood_pressure_sets))
def test_memoised_results_equal_the_reference_on_every_boundary(rules_name: str) -> None:
    rules = RULE_SET.blood_pressure_sets[rules_name]
    cases = list(_cases())
    assert len(cases) > 500
    for readings, on_oxygen, level in cases:
        for overrides in TARGETS:
            args = {
                "readings": readings, "overrides": overrides, "on_oxygen": on_oxygen,
                "consciousness": level, "bp_rules": rules,
            }  # fmt: skip
            with reference():
                expected = assess_vitals(**args)  # type: ignore[arg-type]
            _compare(expected, assess_vitals(**args))  # type: ignore[arg-type]
            _compare(expected, assess_vitals(**args))  # type: ignore[arg-type]


def test_a_hit_is_the_same_object_and_the_reference_path_builds_afresh() -> None:
    readings = {"systolic": 151.0, "diastolic": 91.0, "pulse": 70.0}
    first = assess_vitals(readings=readings)
    assert assess_vitals(readings=readings) is first
    # An int and a float are different inputs: the result writes them differently.
    assert assess_vitals(readings={"systolic": 151, "diastolic": 91, "pulse": 70}) is not first
    with reference():
        again = assess_vitals(readings=readings)
    assert again is not first and again == first


def test_the_tables_hold_a_bounded_amount_of_memory() -> None:
    """A server meets new readings for months: what the tables keep must stay small."""
    import gc
    import random
    import tracemalloc

    from triage import bp, news2, reasons, vitals
    from triage.memo import TABLE_SIZE, Memo

    rng = random.Random(7)

    def distinct() -> None:
        assess_vitals(readings={
            "systolic": float(rng.randint(90, 200)), "diastolic": float(rng.randint(50, 120)),
            "pulse": float(rng.randint(40, 140)), "spo2": float(rng.randint(85, 100)),
        })  # fmt: skip

    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(12_288):
            distinct()
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    tables: list[Memo[Any]] = [vitals._ASSESSED, bp._ASSESSED, news2._SCORES, reasons._REASONS]
    assert all(len(t) <= 2 * TABLE_SIZE for t in tables)
    assert held < 30 * 2**20, f"{held / 2**20:.1f} MiB held by triage after 12,288 readings"
