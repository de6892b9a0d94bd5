"""Blood-pressure categories on both sides of every boundary, crisis, hypotension, targets."""

from __future__ import annotations

import pytest

from triage import BpTarget, Overrides, Priority, assess_blood_pressure


@pytest.mark.parametrize(
    ("systolic", "diastolic", "category", "priority"),
    [
        (119, 79, "normal", None),
        (91, 60, "normal", None),
        (90, 60, "hypotension", Priority.YELLOW),
        (70, 40, "hypotension", Priority.YELLOW),
        (120, 79, "elevated", None),
        (129, 79, "elevated", None),
        (130, 79, "stage_1", Priority.GREEN),
        (119, 80, "stage_1", Priority.GREEN),
        (139, 89, "stage_1", Priority.GREEN),
        (140, 70, "stage_2", Priority.GREEN),
        (125, 90, "stage_2", Priority.GREEN),
        (179, 119, "stage_2", Priority.GREEN),
        (180, 80, "crisis", Priority.YELLOW),
        (150, 120, "crisis", Priority.YELLOW),
        (230, 130, "crisis", Priority.YELLOW),
    ],
)
def test_categories(
    systolic: int, diastolic: int, category: str, priority: Priority | None
) -> None:
    result = assess_blood_pressure(systolic=systolic, diastolic=diastolic)
    assert (result.category, result.priority) == (category, priority)
    assert result.reasons[0].key == f"triage.bp.{category}"
    assert result.reasons[0].params == {"systolic": systolic, "diastolic": diastolic}
    assert result.overrides_applied == ()


def test_crisis_advises_remeasuring_after_5_minutes_and_names_symptoms() -> None:
    result = assess_blood_pressure(systolic=185, diastolic=100)
    keys = [r.key for r in result.reasons]
    assert keys == ["triage.bp.crisis", "triage.bp.remeasure", "triage.bp.symptoms_call_1669"]
    assert result.reasons[1].params == {"minutes": 5}


def test_crisis_with_symptoms_is_red_without_waiting() -> None:
    result = assess_blood_pressure(systolic=185, diastolic=100, symptoms=True)
    assert result.category == "crisis_with_symptoms"
    assert result.priority is Priority.RED
    assert "triage.bp.remeasure" not in [r.key for r in result.reasons]


def test_symptoms_do_not_change_a_non_crisis_reading() -> None:
    assert assess_blood_pressure(systolic=150, diastolic=85, symptoms=True).category == "stage_2"


def test_values_round_to_whole_mmhg() -> None:
    assert assess_blood_pressure(systolic=129.4, diastolic=70).category == "elevated"
    assert assess_blood_pressure(systolic=129.5, diastolic=70).category == "stage_1"
    assert assess_blood_pressure(systolic=179.5, diastolic=70).category == "crisis"
    assert assess_blood_pressure(systolic=90.5, diastolic=60).category == "normal"


TARGET = Overrides(bp_target=BpTarget(systolic_max=150, diastolic_max=90))


@pytest.mark.parametrize(
    ("systolic", "diastolic", "outcome", "priority"),
    [
        (145, 85, "within", None),
        (150, 90, "within", None),
        (151, 85, "outside", Priority.GREEN),
        (145, 91, "outside", Priority.GREEN),
        (185, 95, "urgent", Priority.YELLOW),
        (88, 60, "urgent", Priority.YELLOW),
    ],
)
def test_personal_target_moves_only_the_follow_up_line(
    systolic: int, diastolic: int, outcome: str, priority: Priority | None
) -> None:
    result = assess_blood_pressure(systolic=systolic, diastolic=diastolic, overrides=TARGET)
    assert result.priority == priority
    assert result.overrides_applied == ("bp_target",)
    assert result.reasons[-1].key == f"triage.override.bp_target.{outcome}"
    assert result.reasons[-1].params == {"systolic_max": 150, "diastolic_max": 90}


def test_a_strict_target_follows_up_an_elevated_reading() -> None:
    strict = Overrides(bp_target=BpTarget(systolic_max=120, diastolic_max=80))
    result = assess_blood_pressure(systolic=125, diastolic=75, overrides=strict)
    assert result.category == "elevated"
    assert result.priority is Priority.GREEN


def test_overrides_without_a_bp_target_are_not_listed() -> None:
    result = assess_blood_pressure(systolic=150, diastolic=85, overrides=Overrides(spo2_scale=2))
    assert result.overrides_applied == ()


@pytest.mark.parametrize(
    ("systolic", "diastolic", "message"),
    [
        (80, 120, "must be below systolic"),
        (120, 120, "must be below systolic"),
        (400, 80, "systolic: 400"),
        (120, float("nan"), "not a finite number"),
        (16.0, 10.7, "systolic: 16.0"),  # kPa sent as mmHg
    ],
)
def test_bad_readings_are_clear_errors(systolic: float, diastolic: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        assess_blood_pressure(systolic=systolic, diastolic=diastolic)


def test_bp_target_is_validated() -> None:
    with pytest.raises(ValueError):
        BpTarget(systolic_max=250, diastolic_max=90)
    with pytest.raises(ValueError, match="diastolic_max must be 60-110"):
        BpTarget(systolic_max=150, diastolic_max=130)
