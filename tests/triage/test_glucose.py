"""Glucose: hypoglycaemia levels, the target range, very high readings, mmol/L conversion."""

from __future__ import annotations

import pytest

from triage import Overrides, Priority, TargetRange, assess_glucose, to_mg_dl


@pytest.mark.parametrize(
    ("value", "category", "priority"),
    [
        (40, "hypo_level_2", Priority.RED),
        (53, "hypo_level_2", Priority.RED),
        (53.4, "hypo_level_2", Priority.RED),
        (53.5, "hypo_level_1", Priority.YELLOW),  # judged at whole mg/dL
        (54, "hypo_level_1", Priority.YELLOW),
        (69, "hypo_level_1", Priority.YELLOW),
        (69.4, "hypo_level_1", Priority.YELLOW),
        (69.5, "in_range", None),
        (70, "in_range", None),
        (180, "in_range", None),
        (181, "above_target", Priority.GREEN),
        (250, "above_target", Priority.GREEN),
        (251, "high_urgent", Priority.YELLOW),
        (400, "high_urgent", Priority.YELLOW),
        (401, "high_emergency", Priority.RED),
        (600, "high_emergency", Priority.RED),
    ],
)
def test_mg_dl_boundaries(value: float, category: str, priority: Priority | None) -> None:
    result = assess_glucose(value=value)
    assert (result.category, result.priority) == (category, priority)
    assert result.reasons[0].key == f"triage.glucose.{category}"
    assert (result.target_low, result.target_high) == (70, 180)


@pytest.mark.parametrize(
    ("mmol", "category"),
    [
        (2.9, "hypo_level_2"),
        (3.0, "hypo_level_1"),  # ADA: level 2 is < 3.0 mmol/L
        (3.8, "hypo_level_1"),
        (3.9, "in_range"),  # ADA: level 1 is < 3.9 mmol/L
        (10.0, "in_range"),
        (10.1, "above_target"),
        (13.9, "above_target"),
        (14.0, "high_urgent"),
        (22.2, "high_urgent"),  # ADA pairs 400 mg/dL with 22.2 mmol/L
        (22.3, "high_emergency"),
    ],
)
def test_mmol_l_is_converted(mmol: float, category: str) -> None:
    result = assess_glucose(value=mmol, unit="mmol/L")
    assert result.category == category
    assert result.unit == "mmol/L"
    assert result.value == mmol
    assert result.value_mg_dl == round(mmol * 18.016)
    converted = next(r for r in result.reasons if r.key == "triage.glucose.converted")
    assert converted.params["value"] == mmol


def test_conversion_factor() -> None:
    assert to_mg_dl(5.0, "mmol/L") == pytest.approx(90.08)
    assert to_mg_dl(90, "mg/dL") == 90


def test_low_reading_with_altered_mental_state_is_level_3() -> None:
    result = assess_glucose(value=65, altered_mental_state=True)
    assert result.category == "hypo_level_3"
    assert result.priority is Priority.RED
    # Altered state with a normal reading is not hypoglycaemia (NEWS2 scores consciousness).
    assert assess_glucose(value=120, altered_mental_state=True).category == "in_range"


def test_hypoglycaemia_comes_with_treatment_advice() -> None:
    keys = [r.key for r in assess_glucose(value=60).reasons]
    assert "triage.glucose.hypo_treat" in keys
    assert "triage.glucose.hypo_treat" not in [r.key for r in assess_glucose(value=100).reasons]


PERSONAL = Overrides(glucose_target=TargetRange(low=100, high=200))


@pytest.mark.parametrize(
    ("value", "category", "priority"),
    [
        (60, "hypo_level_1", Priority.YELLOW),
        (99, "below_target", Priority.GREEN),
        (100, "in_range", None),
        (200, "in_range", None),
        (201, "above_target", Priority.GREEN),
        (260, "high_urgent", Priority.YELLOW),
    ],
)
def test_personal_target(value: float, category: str, priority: Priority | None) -> None:
    result = assess_glucose(value=value, overrides=PERSONAL)
    assert (result.category, result.priority) == (category, priority)
    assert result.overrides_applied == ("glucose_target",)
    assert result.reasons[-1].key == "triage.override.glucose_target"
    assert result.reasons[-1].params == {"low": 100, "high": 200}


@pytest.mark.parametrize(
    ("value", "unit", "message"),
    [
        (100, "mg/dl", "unit must be"),
        (5.5, "mmol", "unit must be"),
        (5.5, "mg/dL", "glucose: 5.5"),  # mmol/L sent as mg/dL
        (120, "mmol/L", "outside the plausible range"),  # mg/dL sent as mmol/L
        (float("nan"), "mg/dL", "not a finite number"),
        ("100", "mg/dL", "expected a number"),
    ],
)
def test_bad_input_is_a_clear_error(value: object, unit: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        assess_glucose(value=value, unit=unit)  # type: ignore[arg-type]


def test_target_range_is_validated() -> None:
    with pytest.raises(ValueError, match="must be below"):
        TargetRange(low=200, high=100)
    with pytest.raises(ValueError, match="glucose_target"):
        Overrides(glucose_target=TargetRange(low=20, high=100))
