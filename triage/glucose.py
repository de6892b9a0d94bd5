"""Blood glucose: hypoglycaemia levels 1-3, the target range, and very high readings.

Source: RULE_SET.glucose (ADA Standards of Care: level 1 <70 mg/dL, level 2 <54 mg/dL,
level 3 a severe event with altered mental state; >250 mg/dL urgent, >400 mg/dL emergency
as programme policy). mmol/L readings are converted (x 18.016) and judged in mg/dL.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from triage.models import Priority, Reason
from triage.overrides import Overrides
from triage.reasons import reason
from triage.rules import RULE_SET, round_half_up
from triage.validate import ImplausibleReading, check_reading, display_number

GlucoseCategory = Literal[
    "hypo_level_3",
    "hypo_level_2",
    "hypo_level_1",
    "below_target",
    "in_range",
    "above_target",
    "high_urgent",
    "high_emergency",
]
GlucoseUnit = Literal["mg/dL", "mmol/L"]


class GlucoseAssessment(BaseModel):
    """`value`/`unit` as measured; `value_mg_dl` as judged (converted, whole mg/dL)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: GlucoseCategory
    value: float
    unit: GlucoseUnit
    value_mg_dl: float
    target_low: float
    target_high: float
    priority: Priority | None
    overrides_applied: tuple[str, ...]
    reasons: tuple[Reason, ...]
    rule_set_version: str


def to_mg_dl(value: float, unit: str) -> float:
    """mg/dL from mg/dL or mmol/L; any other unit is an error, never a guess."""
    if unit == "mg/dL":
        return value
    if unit == "mmol/L":
        return value * RULE_SET.glucose.mmol_to_mg_dl
    raise ValueError(f"glucose unit must be 'mg/dL' or 'mmol/L', got {unit!r}")


def assess_glucose(
    *,
    value: float,
    unit: str = "mg/dL",
    overrides: Overrides | None = None,
    altered_mental_state: bool = False,
) -> GlucoseAssessment:
    """Category and priority of one glucose reading.

    `altered_mental_state` (confused, drowsy, unresponsive, needing another person's help)
    with a low reading is level 3 hypoglycaemia, whatever the number. A care plan's
    `glucose_target` (mg/dL) replaces the default 70-180 follow-up range; the hypoglycaemia
    and very-high thresholds never move.
    """
    rules = RULE_SET.glucose
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ImplausibleReading("glucose", value, f"glucose: expected a number, got {value!r}")
    exact = check_reading("glucose", to_mg_dl(float(value), unit))
    mg_dl = float(round_half_up(exact, rules.resolution))
    checked_unit: GlucoseUnit = "mg/dL" if unit == "mg/dL" else "mmol/L"

    applied: list[str] = []
    low, high = rules.default_target_low, rules.default_target_high
    if overrides is not None and overrides.glucose_target is not None:
        low, high = overrides.glucose_target.low, overrides.glucose_target.high
        applied.append("glucose_target")

    category: GlucoseCategory
    if mg_dl < rules.level_1_below:
        if altered_mental_state:
            category = "hypo_level_3"
        elif mg_dl < rules.level_2_below:
            category = "hypo_level_2"
        else:
            category = "hypo_level_1"
    elif mg_dl > rules.emergency_above:
        category = "high_emergency"
    elif mg_dl > rules.urgent_above:
        category = "high_urgent"
    elif mg_dl < low:
        category = "below_target"
    elif mg_dl > high:
        category = "above_target"
    else:
        category = "in_range"

    shown = display_number(mg_dl)
    reasons = [reason(f"triage.glucose.{category}", value_mg_dl=shown)]
    if checked_unit == "mmol/L":
        reasons.append(reason("triage.glucose.converted", value=float(value), value_mg_dl=shown))
    if category.startswith("hypo_"):
        reasons.append(reason("triage.glucose.hypo_treat"))
    if applied:
        reasons.append(
            reason(
                "triage.override.glucose_target", low=display_number(low), high=display_number(high)
            )
        )
    return GlucoseAssessment(
        category=category,
        value=float(value),
        unit=checked_unit,
        value_mg_dl=mg_dl,
        target_low=low,
        target_high=high,
        priority=rules.category_priority[category],
        overrides_applied=tuple(applied),
        reasons=tuple(reasons),
        rule_set_version=RULE_SET.version,
    )
