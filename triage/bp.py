"""Blood-pressure categories (AHA/ACC 2017), hypertensive crisis and hypotension.

Source: RULE_SET.blood_pressure. Crisis is >=180 systolic or >=120 diastolic: re-measure after
about 5 minutes; with symptoms (chest pain, breathlessness, weakness, vision or speech change)
it is an emergency (1669). Hypotension is systolic <=90, which NEWS2 scores 3.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from triage.models import Priority, Reason
from triage.overrides import Overrides
from triage.reasons import reason
from triage.rules import RULE_SET, BloodPressureRules, round_half_up
from triage.validate import check_reading

BpCategory = Literal[
    "normal", "elevated", "stage_1", "stage_2", "crisis", "crisis_with_symptoms", "hypotension"
]


class BloodPressureAssessment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    category: BpCategory
    systolic: int
    diastolic: int
    priority: Priority | None
    overrides_applied: tuple[str, ...]
    reasons: tuple[Reason, ...]
    rule_set_version: str


def bp_category(
    systolic: int, diastolic: int, *, symptoms: bool, rules: BloodPressureRules
) -> BpCategory:
    """The AHA/ACC category; the worse of systolic and diastolic decides. Crisis comes first."""
    if systolic >= rules.crisis_systolic_min or diastolic >= rules.crisis_diastolic_min:
        return "crisis_with_symptoms" if symptoms else "crisis"
    if systolic <= rules.hypotension_systolic_max:
        return "hypotension"
    if systolic >= rules.stage_2_systolic_min or diastolic >= rules.stage_2_diastolic_min:
        return "stage_2"
    if systolic >= rules.stage_1_systolic_min or diastolic >= rules.stage_1_diastolic_min:
        return "stage_1"
    if systolic >= rules.elevated_systolic_min:
        return "elevated"
    return "normal"


def assess_blood_pressure(
    *,
    systolic: float,
    diastolic: float,
    overrides: Overrides | None = None,
    symptoms: bool = False,
) -> BloodPressureAssessment:
    """Category and priority of one reading (mmHg, rounded to whole mmHg).

    `symptoms` is True when the person reports chest pain, breathlessness, weakness, or a
    change in vision or speech; a crisis with symptoms is RED. A care plan's `bp_target`
    moves only the follow-up line; crisis and hypotension are never lowered.
    """
    rules = RULE_SET.blood_pressure
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

    reasons = [reason(f"triage.bp.{category}", systolic=sys_mm, diastolic=dia_mm)]
    if category == "crisis":
        reasons.append(reason("triage.bp.remeasure", minutes=rules.remeasure_after_minutes))
    if category in ("crisis", "crisis_with_symptoms"):
        reasons.append(reason("triage.bp.symptoms_call_1669"))

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
    )
