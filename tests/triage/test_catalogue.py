"""Every reason key the package can emit has Thai and English text with the same placeholders."""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from triage import (
    REASON_KEYS,
    REASON_PARAMS,
    RULE_SET,
    BpTarget,
    ElderProfile,
    Overrides,
    Reason,
    TargetRange,
    assess_blood_pressure,
    assess_glucose,
    assess_spo2,
    assess_vitals,
    news2_score,
    prioritise_event,
)
from triage.reasons import reason

ROOT = Path(__file__).resolve().parents[2] / "server" / "i18n" / "locales"


def _load(locale: str) -> dict[str, str]:
    data = json.loads((ROOT / locale / "triage.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    assert all(isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in data.items())
    return data


TH = _load("th")
EN = _load("en")


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_both_catalogues_hold_exactly_the_emittable_keys() -> None:
    assert set(TH) == set(REASON_KEYS)
    assert set(EN) == set(REASON_KEYS)
    assert all(key.startswith("triage.") for key in REASON_KEYS)


@pytest.mark.parametrize("key", sorted(REASON_KEYS))
def test_placeholders_match_and_are_declared(key: str) -> None:
    assert _placeholders(TH[key]) == _placeholders(EN[key])
    assert _placeholders(TH[key]) <= REASON_PARAMS[key]


def test_partial_news2_wording_says_partial_and_full_does_not() -> None:
    for key in REASON_KEYS:
        if key.startswith("triage.news2.partial."):
            assert "บางส่วน" in TH[key] and "ไม่ใช่คะแนนเต็ม" in TH[key]
            assert "Partial" in EN[key] and "not a full score" in EN[key]
        if key.startswith("triage.news2.full."):
            assert "บางส่วน" not in TH[key]
            assert "Partial" not in EN[key]


def test_disclaimers_say_decision_support_and_not_validated() -> None:
    assert "not validated" in EN["triage.news2.not_validated_remote"]
    assert "ยังไม่ได้รับการรับรอง" in TH["triage.news2.not_validated_remote"]
    assert "Decision support" in EN["triage.decision_support"]


def test_reason_builder_refuses_unknown_keys_and_wrong_params() -> None:
    with pytest.raises(KeyError):
        reason("triage.nope")
    with pytest.raises(ValueError, match="declared"):
        reason("triage.bp.remeasure")
    with pytest.raises(ValueError, match="declared"):
        reason("triage.bp.remeasure", minutes=5, extra=1)


def _sweep() -> Iterator[Reason]:
    """Reasons from a broad set of inputs; together they should reach every key."""
    for value in (20, 50, 60, 100, 200, 300, 500):
        for altered in (False, True):
            yield from assess_glucose(value=value, altered_mental_state=altered).reasons
    yield from assess_glucose(value=5.5, unit="mmol/L").reasons
    yield from assess_glucose(
        value=90, overrides=Overrides(glucose_target=TargetRange(low=100, high=200))
    ).reasons
    bp_target = Overrides(bp_target=BpTarget(systolic_max=150, diastolic_max=90))
    readings = ((110, 70), (125, 75), (135, 85), (135, 87), (150, 95), (165, 102), (170, 112),
                (190, 100), (85, 50), (155, 85))  # fmt: skip
    for rules in RULE_SET.blood_pressure_sets.values():
        for sys, dia in readings:
            for symptoms in (False, True):
                yield from assess_blood_pressure(
                    systolic=sys, diastolic=dia, symptoms=symptoms, rules=rules
                ).reasons
                yield from assess_blood_pressure(
                    systolic=sys, diastolic=dia, overrides=bp_target, rules=rules
                ).reasons
    spo2_plan = Overrides(spo2_scale=2, spo2_target=TargetRange(low=88, high=92))
    for spo2 in (80, 86, 89, 91, 93, 95, 97, 99):
        for on_oxygen in (False, True):
            yield from assess_spo2(spo2=spo2, on_oxygen=on_oxygen).reasons
            yield from assess_spo2(spo2=spo2, on_oxygen=on_oxygen, overrides=spo2_plan).reasons
            yield from assess_spo2(spo2=spo2, scale=2, on_oxygen=on_oxygen).reasons
    base: dict[str, Any] = {
        "respiration_rate": 16,
        "spo2": 97,
        "systolic": 125,
        "pulse": 70,
        "consciousness": "alert",
        "temperature_c": 37.0,
    }
    for extra in (
        {},
        {"pulse": 95},
        {"pulse": 135},
        {"pulse": 135, "respiration_rate": 22},
        {"pulse": 135, "respiration_rate": 26, "spo2": 90, "systolic": 85, "temperature_c": 34.0},
        {"consciousness": "voice"},
    ):
        yield from news2_score(**{**base, **extra}).reasons
        for dropped in base:
            partial = {k: v for k, v in {**base, **extra}.items() if k != dropped}
            yield from news2_score(**partial).reasons
    yield from news2_score(on_oxygen=None).reasons
    yield from news2_score(spo2=90, spo2_scale=2).reasons
    yield from news2_score(
        spo2=80, pulse=135, systolic=85, respiration_rate=26, on_oxygen=True
    ).reasons
    yield from assess_vitals(
        readings={
            "systolic": 500,
            "diastolic": -1,
            "pulse": 0,
            "spo2": 0,
            "glucose": 0,
            "temperature": 99,
            "respiration_rate": 0,
        }
    ).reasons
    yield from assess_vitals(readings={"systolic": 120}, consciousness="pain").reasons
    profile = ElderProfile(
        lives_alone=True, adl_score=2, fall_risk=True, chronic_conditions=("COPD",), age=90
    )
    other = ElderProfile(lives_alone=True, has_carer=True, adl_score=8)
    vitals = assess_vitals(readings={"spo2": 89})
    calm = assess_vitals(readings={"spo2": 98})
    for kind in ("panic", "fall", "heartbeat", "missed_checkin", "low_battery"):
        for who in (profile, other):
            yield from prioritise_event(kind=kind, profile=who, test=True).reasons
    yield from prioritise_event(kind="vitals", vitals=vitals).reasons
    yield from prioritise_event(kind="vitals", vitals=calm).reasons
    for level in (5, 80):
        yield from prioritise_event(kind="battery", battery_level=level).reasons
    for status in ("connected", "unreachable", "pairing_required", "adapter_missing", "error"):
        yield from prioritise_event(kind="device_status", device_status=status).reasons
    yield from prioritise_event(kind="device_status").reasons


def test_every_key_is_reachable_and_every_emitted_reason_renders() -> None:
    emitted = list(_sweep())
    assert {r.key for r in emitted} == set(REASON_KEYS)
    for item in emitted:
        assert set(item.params) == REASON_PARAMS[item.key]
        for catalogue in (TH, EN):
            text = catalogue[item.key].format(**item.params)
            assert "{" not in text


def test_a_rendered_partial_score_in_thai() -> None:
    result = news2_score(spo2=91, pulse=131, systolic=120)
    first = result.reasons[0]
    text = TH[first.key].format(**first.params)
    assert text.startswith("คะแนน NEWS2 บางส่วน 6 (วัดได้ 4 จาก 7 รายการ")
    missing = [TH[r.key] for r in result.reasons if r.key.startswith("triage.news2.missing.")]
    assert missing == ["ขาด: อัตราการหายใจ", "ขาด: ระดับความรู้สึกตัว", "ขาด: อุณหภูมิร่างกาย"]
