"""Blood-pressure categories (Thai guideline 2019 or AHA/ACC 2017), crisis and hypotension.

Source: RULE_SET.blood_pressure (the default, Thai) or one of RULE_SET.blood_pressure_sets,
chosen per deployment; every result names its set in a reason. Crisis is >=180 systolic or >=120 diastolic: re-measure after
about 5 minutes; with symptoms (chest pain, breathlessness, weakness, vision or speech change)
it is an emergency (1669). Hypotension is systolic <=90, which NEWS2 scores 3.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from triage.memo import TABLE_SIZE, Memo, typed
from triage.models import Priority, Reason
from triage.overrides import Overrides
from triage.reasons import BP_SHARED_CATEGORIES, reason
from triage.rules import RULE_SET, BloodPressureRules, round_half_up
from triage.validate import check_reading

BpCategory = Literal[
    # shared
    "crisis", "crisis_with_symptoms", "hypotension",
    # AHA/ACC 2017
    "normal", "elevated", "stage_1", "stage_2",
    # Thai Hypertension Society 2019 ("normal" is shared in name only: 120-129 / 80-84)
    "optimal", "high_normal", "grade_1", "grade_2", "grade_3", "isolated_systolic",
]  # fmt: skip


class BloodPressureAssessment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    category: BpCategory
    systolic: int
    diastolic: int
    priority: Priority | None
    overrides_applied: tuple[str, ...]
    reasons: tuple[Reason, ...]
    rule_set_version: str
    bp_rules: str


def bp_category(
    systolic: int, diastolic: int, *, symptoms: bool, rules: BloodPressureRules
) -> BpCategory:
    """The category under `rules`; the worse of systolic and diastolic decides. Crisis first."""
    if systolic >= rules.crisis_systolic_min or diastolic >= rules.crisis_diastolic_min:
        return "crisis_with_symptoms" if symptoms else "crisis"
    if systolic <= rules.hypotension_systolic_max:
        return "hypotension"
    for band in rules.bands:
        by_diastolic = band.diastolic_min is not None and diastolic >= band.diastolic_min
        if systolic >= band.systolic_min or by_diastolic:
            if (
                rules.isolated_systolic_below is not None
                and band.category.startswith("grade_")
                and diastolic < rules.isolated_systolic_below
            ):
                return "isolated_systolic"
            return band.category  # type: ignore[return-value]
    return rules.below_bands  # type: ignore[return-value]


def _grade_by_systolic(systolic: int, rules: BloodPressureRules) -> int:
    grades = [b for b in rules.bands if b.category.startswith("grade_")]
    for band in grades:
        if systolic >= band.systolic_min:
            return int(band.category.removeprefix("grade_"))
    return 1


def assess_blood_pressure(
    *,
    systolic: float,
    diastolic: float,
    overrides: Overrides | None = None,
    symptoms: bool = False,
    rules: BloodPressureRules | None = None,
) -> BloodPressureAssessment:
    """Category and priority of one reading (mmHg, rounded to whole mmHg).

    `symptoms` is True when the person reports chest pain, breathlessness, weakness, or a
    change in vision or speech; a crisis with symptoms is RED. A care plan's `bp_target`
    moves only the follow-up line; crisis and hypotension are never lowered. `rules` is the
    deployment's set (default: the Thai guideline).
    """
    rules = rules or RULE_SET.blood_pressure
    # The rules are long-lived settings and not hashable: keyed by identity, and a hit
    # counts only if it was computed with this very object.
    key = (typed(systolic), typed(diastolic), overrides, symptoms, id(rules))
    found = _ASSESSED.get(key)
    if found is not None and found[0] is rules:
        return found[1]
    assessed = _assess(
        systolic=systolic, diastolic=diastolic, overrides=overrides, symptoms=symptoms,
        rules=rules,
    )  # fmt: skip
    return _ASSESSED.put(key, (rules, assessed))[1]


# Assessments by their inputs: a home's readings repeat (see triage.memo).
_ASSESSED: Memo[tuple[BloodPressureRules, BloodPressureAssessment]] = Memo(TABLE_SIZE)


def _assess(
    *,
    systolic: float,
    diastolic: float,
    overrides: Overrides | None,
    symptoms: bool,
    rules: BloodPressureRules,
) -> BloodPressureAssessment:
    sys_value = check_reading("systolic", systolic)
    dia_value = check_reading("diastolic", diastolic)
    if dia_value >= sys_value:
        raise ValueError(
            f"diastolic ({diastolic}) must be below systolic ({systolic}); "
            "the two values may be swapped"
        )
    sys_mm = int(round_half_up(sys_value, rules.resolution))
    dia_mm = int(round_half_up(dia_value, rules.resolution))
    category = bp_category(sys_mm, dia_mm, symptoms=symptoms, rules=rules)
    priority = rules.category_priority[category]

    if category in BP_SHARED_CATEGORIES:
        first = reason(f"triage.bp.{category}", systolic=sys_mm, diastolic=dia_mm)
    elif category == "isolated_systolic":
        grade = _grade_by_systolic(sys_mm, rules)
        first = reason(f"{rules.reason_prefix}{category}", systolic=sys_mm, diastolic=dia_mm,
                       grade=grade)  # fmt: skip
    else:
        first = reason(f"{rules.reason_prefix}{category}", systolic=sys_mm, diastolic=dia_mm)
    reasons = [first]
    if category == "crisis":
        reasons.append(reason("triage.bp.remeasure", minutes=rules.remeasure_after_minutes))
    if category in ("crisis", "crisis_with_symptoms"):
        reasons.append(reason("triage.bp.symptoms_call_1669"))
    # Which guideline named the category, with its source: two sets label 135/85 differently.
    reasons.append(reason(f"triage.bp.rule_set.{rules.name}"))

    applied: list[str] = []
    if overrides is not None and overrides.bp_target is not None:
        target = overrides.bp_target
        applied.append("bp_target")
        if category in rules.target_cannot_lower:
            outcome = "urgent"
        elif sys_mm <= target.systolic_max and dia_mm <= target.diastolic_max:
            outcome = "within"
            priority = None
        else:
            outcome = "outside"
            priority = Priority.GREEN
        reasons.append(
            reason(
                f"triage.override.bp_target.{outcome}",
                systolic_max=target.systolic_max,
                diastolic_max=target.diastolic_max,
            )
        )

    return BloodPressureAssessment(
        category=category,
        systolic=sys_mm,
        diastolic=dia_mm,
        priority=priority,
        overrides_applied=tuple(applied),
        reasons=tuple(reasons),
        rule_set_version=RULE_SET.version,
        bp_rules=rules.name,
    )
