"""Blood-pressure categories on both sides of every boundary, in both rule sets (the Thai
guideline, the default, and AHA/ACC 2017); crisis, hypotension, targets."""

from __future__ import annotations

import pytest

from triage import RULE_SET, BpTarget, Overrides, Priority, assess_blood_pressure

AHA = RULE_SET.blood_pressure_sets["aha_acc_2017"]
THAI = RULE_SET.blood_pressure_sets["thai_2019"]


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
def test_aha_categories(
    systolic: int, diastolic: int, category: str, priority: Priority | None
) -> None:
    result = assess_blood_pressure(systolic=systolic, diastolic=diastolic, rules=AHA)
    assert (result.category, result.priority) == (category, priority)
    assert result.reasons[0].key == f"triage.bp.{category}"
    assert result.reasons[0].params == {"systolic": systolic, "diastolic": diastolic}
    assert result.overrides_applied == ()
    assert result.bp_rules == "aha_acc_2017"
    assert result.reasons[-1].key == "triage.bp.rule_set.aha_acc_2017"


# The Thai Hypertension Society's 2019 office classification: optimal <120 and <80; normal
# 120-129 and/or 80-84; high normal 130-139 and/or 85-89; grade 1 140-159 and/or 90-99;
# grade 2 160-179 and/or 100-109; grade 3 >=180 and/or >=110; isolated systolic >=140 and <90.
# Crisis (>=180 or >=120) and hypotension (<=90) are shared programme policy.
@pytest.mark.parametrize(
    ("systolic", "diastolic", "category", "priority"),
    [
        (119, 79, "optimal", None),
        (91, 60, "optimal", None),
        (90, 60, "hypotension", Priority.YELLOW),
        (120, 79, "normal", None),
        (119, 80, "normal", None),
        (129, 84, "normal", None),
        (130, 84, "high_normal", None),
        (129, 85, "high_normal", None),
        (139, 89, "high_normal", None),
        (140, 90, "grade_1", Priority.GREEN),
        (139, 90, "grade_1", Priority.GREEN),
        (159, 99, "grade_1", Priority.GREEN),
        (160, 99, "grade_2", Priority.GREEN),
        (159, 100, "grade_2", Priority.GREEN),
        (179, 109, "grade_2", Priority.GREEN),
        (150, 110, "grade_3", Priority.GREEN),
        (179, 119, "grade_3", Priority.GREEN),
        (140, 89, "isolated_systolic", Priority.GREEN),
        (179, 89, "isolated_systolic", Priority.GREEN),
        (180, 80, "crisis", Priority.YELLOW),
        (150, 120, "crisis", Priority.YELLOW),
        (230, 130, "crisis", Priority.YELLOW),
    ],
)
def test_thai_guideline_categories(
    systolic: int, diastolic: int, category: str, priority: Priority | None
) -> None:
    result = assess_blood_pressure(systolic=systolic, diastolic=diastolic, rules=THAI)
    assert (result.category, result.priority) == (category, priority)
    shared = category in ("crisis", "hypotension")
    assert result.reasons[0].key == ("triage.bp." if shared else "triage.bp.thai.") + category
    assert result.bp_rules == "thai_2019"
    assert result.reasons[-1].key == "triage.bp.rule_set.thai_2019"


def test_the_thai_guideline_is_the_default() -> None:
    assert RULE_SET.blood_pressure is THAI
    result = assess_blood_pressure(systolic=135, diastolic=85)
    assert result.category == "high_normal" and result.priority is None
    assert assess_blood_pressure(systolic=135, diastolic=85, rules=AHA).category == "stage_1"


def test_isolated_systolic_names_its_grade_by_systolic() -> None:
    assert assess_blood_pressure(systolic=145, diastolic=80).reasons[0].params["grade"] == 1
    assert assess_blood_pressure(systolic=165, diastolic=80).reasons[0].params["grade"] == 2


def test_each_set_is_named_with_its_source_in_thai() -> None:
    from server.i18n import translate

    thai = assess_blood_pressure(systolic=150, diastolic=95, rules=THAI)
    aha = assess_blood_pressure(systolic=150, diastolic=95, rules=AHA)
    assert "ระดับ 1" in translate(thai.reasons[0].key, "th", **thai.reasons[0].params)
    assert "ระยะที่ 2" in translate(aha.reasons[0].key, "th", **aha.reasons[0].params)
    assert "สมาคมความดันโลหิตสูงแห่งประเทศไทย" in translate(thai.reasons[-1].key, "th")
    assert "พ.ศ. 2562" in translate(thai.reasons[-1].key, "th")
    assert "AHA/ACC 2017" in translate(aha.reasons[-1].key, "th")
    assert "Thai Hypertension Society" in THAI.source and "2019" in THAI.source
    assert "ACC/AHA" in AHA.source


def test_crisis_advises_remeasuring_after_5_minutes_and_names_symptoms() -> None:
    result = assess_blood_pressure(systolic=185, diastolic=100)
    keys = [r.key for r in result.reasons]
    assert keys == [
        "triage.bp.crisis",
        "triage.bp.remeasure",
        "triage.bp.symptoms_call_1669",
        "triage.bp.rule_set.thai_2019",
    ]
    assert result.reasons[1].params == {"minutes": 5}


def test_crisis_with_symptoms_is_red_without_waiting() -> None:
    result = assess_blood_pressure(systolic=185, diastolic=100, symptoms=True)
    assert result.category == "crisis_with_symptoms"
    assert result.priority is Priority.RED
    assert "triage.bp.remeasure" not in [r.key for r in result.reasons]


def test_symptoms_do_not_change_a_non_crisis_reading() -> None:
    assert assess_blood_pressure(systolic=150, diastolic=95, symptoms=True).category == "grade_1"


def test_values_round_to_whole_mmhg() -> None:
    assert assess_blood_pressure(systolic=129.4, diastolic=70, rules=AHA).category == "elevated"
    assert assess_blood_pressure(systolic=129.5, diastolic=70, rules=AHA).category == "stage_1"
    assert assess_blood_pressure(systolic=179.5, diastolic=70).category == "crisis"
    assert assess_blood_pressure(systolic=90.5, diastolic=60, rules=AHA).category == "normal"
    assert assess_blood_pressure(systolic=139.5, diastolic=89.4).category == "isolated_systolic"


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
    result = assess_blood_pressure(systolic=125, diastolic=75, overrides=strict, rules=AHA)
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
