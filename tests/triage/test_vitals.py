"""assess_vitals: each reading judged, the partial NEWS2, one priority, bad readings set aside."""

from __future__ import annotations

import pytest

from triage import (
    RULE_SET_VERSION,
    BpTarget,
    ElderProfile,
    Overrides,
    Priority,
    TargetRange,
    assess_vitals,
)


def test_a_normal_home_set_raises_nothing_but_is_a_partial_score() -> None:
    result = assess_vitals(
        readings={"systolic": 118, "diastolic": 76, "pulse": 72, "spo2": 97, "glucose": 110}
    )
    assert result.priority is None
    assert result.blood_pressure is not None and result.blood_pressure.category == "optimal"
    assert result.glucose is not None and result.glucose.category == "in_range"
    assert result.spo2 is not None and result.spo2.category == "normal"
    assert result.news2.partial
    assert result.news2.missing == ("respiration_rate", "consciousness", "temperature")
    assert result.reasons[-1].key == "triage.decision_support"
    assert "triage.news2.partial.none" in [r.key for r in result.reasons]
    assert result.rule_set_version == RULE_SET_VERSION


def test_the_most_urgent_part_decides_and_is_explained_first() -> None:
    result = assess_vitals(
        readings={"systolic": 185, "diastolic": 95, "spo2": 95, "pulse": 88, "glucose": 52}
    )
    assert result.priority is Priority.RED
    assert result.reasons[0].key == "triage.glucose.hypo_level_2"
    keys = [r.key for r in result.reasons]
    assert keys.index("triage.bp.crisis") < keys.index("triage.spo2.low")


def test_unknown_codes_and_map_are_ignored_and_listed() -> None:
    result = assess_vitals(
        readings={"pulse": 70, "mean_arterial_pressure": 93, "pulse_amplitude_index": 4.2, "x": 1}
    )
    assert result.ignored == ("mean_arterial_pressure", "pulse_amplitude_index", "x")
    assert result.readings == {"pulse": 70}
    assert result.priority is None


def test_an_implausible_reading_is_rejected_without_losing_the_others() -> None:
    result = assess_vitals(
        readings={"temperature": 98.6, "spo2": 89, "pulse": float("nan"), "systolic": 120}
    )
    assert set(result.rejected) == {"temperature", "pulse"}
    assert "plausible range" in result.rejected["temperature"]
    assert result.spo2 is not None and result.spo2.category == "critical"
    assert result.priority is Priority.RED
    keys = [r.key for r in result.reasons]
    assert "triage.vitals.implausible.temperature" in keys
    nan_reason = next(r for r in result.reasons if r.key == "triage.vitals.implausible.pulse")
    assert nan_reason.params == {"value": "nan"}
    assert "temperature" in result.news2.missing
    assert "pulse" in result.news2.missing


def test_implausible_reading_alone_is_a_device_problem() -> None:
    result = assess_vitals(readings={"spo2": 127})
    assert result.priority is Priority.WHITE
    assert result.spo2 is None


def test_swapped_blood_pressure_is_rejected_and_the_rest_judged() -> None:
    result = assess_vitals(readings={"systolic": 80, "diastolic": 120, "pulse": 135})
    assert set(result.rejected) == {"systolic", "diastolic"}
    assert result.blood_pressure is None
    assert "systolic" in result.news2.missing
    assert result.news2.subscores["pulse"] == 3
    assert result.priority is Priority.YELLOW


def test_half_a_blood_pressure_is_scored_by_news2_but_not_categorised() -> None:
    result = assess_vitals(readings={"systolic": 88})
    assert result.blood_pressure is None
    assert "triage.bp.incomplete" in [r.key for r in result.reasons]
    assert result.news2.subscores["systolic"] == 3
    assert result.priority is Priority.YELLOW


def test_news2_alone_can_raise_the_priority() -> None:
    # Each reading alone is at most GREEN; together they reach NEWS2 medium (YELLOW).
    result = assess_vitals(
        readings={"pulse": 115, "respiration_rate": 22, "temperature": 38.5},
    )
    assert result.news2.total == 5
    assert result.priority is Priority.YELLOW


@pytest.mark.parametrize(
    ("consciousness", "priority"),
    [("alert", None), ("new_confusion", Priority.YELLOW), ("voice", Priority.YELLOW),
     ("pain", Priority.RED), ("unresponsive", Priority.RED)],
)  # fmt: skip
def test_consciousness(consciousness: str, priority: Priority | None) -> None:
    result = assess_vitals(readings={"pulse": 70}, consciousness=consciousness)
    assert result.priority == priority
    if priority is Priority.RED:
        assert result.reasons[0].key == "triage.consciousness.critical"


def test_low_glucose_with_confusion_is_level_3() -> None:
    result = assess_vitals(readings={"glucose": 62}, consciousness="new_confusion")
    assert result.glucose is not None and result.glucose.category == "hypo_level_3"
    assert result.priority is Priority.RED


def test_copd_care_plan_applies_scale_2_everywhere_and_says_so() -> None:
    plan = Overrides(
        spo2_scale=2,
        bp_target=BpTarget(systolic_max=150, diastolic_max=90),
        glucose_target=TargetRange(low=100, high=200),
    )
    result = assess_vitals(
        readings={"spo2": 89, "systolic": 145, "diastolic": 85, "glucose": 190}, overrides=plan
    )
    assert result.news2.spo2_scale == 2
    assert result.news2.subscores["spo2"] == 0
    assert result.spo2 is not None and result.spo2.priority is None
    assert result.priority is None
    assert result.overrides_applied == ("bp_target", "glucose_target", "spo2_scale")
    keys = [r.key for r in result.reasons]
    assert "triage.override.spo2_scale" in keys
    assert "triage.override.bp_target.within" in keys
    assert "triage.news2.scale_2" in keys
    # Without the plan the same readings are a clinical emergency.
    assert assess_vitals(readings={"spo2": 89}).priority is Priority.RED


def test_oxygen_is_scored() -> None:
    result = assess_vitals(readings={"spo2": 97}, on_oxygen=True)
    assert result.news2.subscores["air_or_oxygen"] == 2
    assert result.on_oxygen


def test_profile_never_changes_what_a_reading_means() -> None:
    readings = {"systolic": 150, "diastolic": 85, "spo2": 93}
    alone = ElderProfile(lives_alone=True, adl_score=2)
    assert assess_vitals(readings=readings, profile=alone) == assess_vitals(readings=readings)


def test_bad_consciousness_is_an_error() -> None:
    with pytest.raises(ValueError, match="consciousness must be one of"):
        assess_vitals(readings={}, consciousness="sleepy")


def test_result_serialises_to_json() -> None:
    result = assess_vitals(readings={"systolic": 185, "diastolic": 95, "glucose": 60})
    data = result.model_dump(mode="json")
    assert data["priority"] == "YELLOW"
    assert data["blood_pressure"]["category"] == "crisis"
    assert type(result).model_validate(data) == result
