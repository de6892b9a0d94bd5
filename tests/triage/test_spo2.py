"""SpO2 on scale 1 and scale 2, the critical lines, and care-plan scale and target."""

from __future__ import annotations

import pytest

from triage import Overrides, Priority, TargetRange, assess_spo2


@pytest.mark.parametrize(
    ("spo2", "category", "points", "priority"),
    [
        (100, "normal", 0, None),
        (96, "normal", 0, None),
        (95, "low", 1, Priority.GREEN),
        (94, "low", 1, Priority.GREEN),
        (93, "low", 2, Priority.GREEN),
        (92, "low", 2, Priority.GREEN),
        (91, "very_low", 3, Priority.YELLOW),
        (90, "very_low", 3, Priority.YELLOW),
        (89, "critical", 3, Priority.RED),
        (75, "critical", 3, Priority.RED),
    ],
)
def test_scale_1(spo2: int, category: str, points: int, priority: Priority | None) -> None:
    result = assess_spo2(spo2=spo2)
    assert (result.category, result.news2_points, result.priority) == (category, points, priority)
    assert result.scale == 1
    assert result.reasons[0].key == f"triage.spo2.{category}"
    assert result.reasons[0].params == {"spo2": spo2, "scale": 1}


@pytest.mark.parametrize(
    ("spo2", "on_oxygen", "category", "priority"),
    [
        (93, False, "normal", None),
        (99, False, "normal", None),
        (92, False, "normal", None),
        (88, False, "normal", None),
        (87, False, "low", Priority.GREEN),
        (86, False, "low", Priority.GREEN),
        (85, False, "low", Priority.GREEN),
        (84, False, "low", Priority.GREEN),
        (83, False, "critical", Priority.RED),
        (88, True, "normal", None),
        (92, True, "normal", None),
        (93, True, "high_on_oxygen", Priority.GREEN),
        (96, True, "high_on_oxygen", Priority.GREEN),
        (97, True, "very_high_on_oxygen", Priority.YELLOW),
        (83, True, "critical", Priority.RED),
    ],
)
def test_scale_2(spo2: int, on_oxygen: bool, category: str, priority: Priority | None) -> None:
    result = assess_spo2(spo2=spo2, scale=2, on_oxygen=on_oxygen)
    assert (result.category, result.priority) == (category, priority)
    assert result.scale == 2


def test_on_oxygen_is_named() -> None:
    assert "triage.spo2.on_oxygen" in [r.key for r in assess_spo2(spo2=97, on_oxygen=True).reasons]


def test_care_plan_scale_replaces_the_default_and_is_visible() -> None:
    copd = Overrides(spo2_scale=2, source="care-plan 17 v3")
    result = assess_spo2(spo2=89, overrides=copd)
    assert result.scale == 2
    assert result.category == "normal"
    assert result.priority is None
    assert result.overrides_applied == ("spo2_scale",)
    assert result.reasons[1].key == "triage.override.spo2_scale"
    assert result.reasons[1].params == {"scale": 2}
    # The same reading on scale 1 is a clinical emergency.
    assert assess_spo2(spo2=89).priority is Priority.RED


@pytest.mark.parametrize(
    ("spo2", "on_oxygen", "outcome", "priority"),
    [
        (92, False, "within", None),  # scale 1 says "low" (2 points); the plan says fine
        (97, False, "within", None),  # above target on air is no concern
        (97, True, "outside", Priority.GREEN),
        (91, False, "urgent", Priority.YELLOW),
        (89, False, "urgent", Priority.RED),
    ],
)
def test_target_moves_only_the_follow_up_line(
    spo2: int, on_oxygen: bool, outcome: str, priority: Priority | None
) -> None:
    plan = Overrides(spo2_target=TargetRange(low=92, high=96))
    result = assess_spo2(spo2=spo2, on_oxygen=on_oxygen, overrides=plan)
    assert result.priority == priority
    assert result.overrides_applied == ("spo2_target",)
    target_reason = next(r for r in result.reasons if r.key.startswith("triage.override."))
    assert target_reason.key == f"triage.override.spo2_target.{outcome}"
    assert target_reason.params == {"low": 92, "high": 96}


def test_below_personal_target_is_followed_up() -> None:
    plan = Overrides(spo2_target=TargetRange(low=97, high=100))
    result = assess_spo2(spo2=96, overrides=plan)
    assert result.category == "normal"
    assert result.priority is Priority.GREEN


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"spo2": 101}, "spo2: 101"),
        ({"spo2": 0}, "spo2: 0"),
        ({"spo2": 0.97}, "spo2: 0.97"),  # a fraction, not a percentage
        ({"spo2": 95, "scale": 3}, "scale must be 1 or 2"),
    ],
)
def test_bad_input(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        assess_spo2(**kwargs)  # type: ignore[arg-type]


def test_care_plan_targets_stay_within_the_limits() -> None:
    with pytest.raises(ValueError, match="spo2_target must lie within 70-100"):
        Overrides(spo2_target=TargetRange(low=50, high=92))
    with pytest.raises(ValueError, match="spo2_scale"):
        Overrides(spo2_scale=3)
    with pytest.raises(ValueError, match="extra"):
        Overrides(spo2_targett=TargetRange(low=88, high=92))  # type: ignore[call-arg]
