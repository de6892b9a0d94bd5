"""Oxygen saturation on the scale that fits the elder (NEWS2 scale 1, or scale 2 by a clinician).

Sources (RULE_SET.spo2): NEWS2 points (RCP 2017); WHO Pulse Oximetry Training Manual (2011)
for the scale-1 critical line (<90 %); programme policy for the scale-2 critical line.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from triage.models import Priority, Reason
from triage.news2 import spo2_points
from triage.overrides import Overrides
from triage.reasons import reason
from triage.rules import RULE_SET, round_half_up
from triage.validate import check_reading, check_scale, display_number

Spo2Category = Literal[
    "normal", "low", "very_low", "critical", "high_on_oxygen", "very_high_on_oxygen"
]


class Spo2Assessment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    category: Spo2Category
    spo2: float
    scale: Literal[1, 2]
    on_oxygen: bool
    news2_points: int
    priority: Priority | None
    overrides_applied: tuple[str, ...]
    reasons: tuple[Reason, ...]
    rule_set_version: str


def assess_spo2(
    *,
    spo2: float,
    scale: int = 1,
    on_oxygen: bool = False,
    overrides: Overrides | None = None,
) -> Spo2Assessment:
    """Category and priority of one SpO2 reading (%).

    A care plan's `spo2_scale` replaces `scale`. A care plan's `spo2_target` moves only the
    follow-up line: within it nothing is raised; below it (or above it while on oxygen) the
    reading is followed up (GREEN). Urgent and critical readings stay what the chart says.
    """
    rules = RULE_SET.spo2
    value = check_reading("spo2", spo2)
    applied: list[str] = []
    reasons: list[Reason] = []
    effective_scale = check_scale(scale)
    if overrides is not None and overrides.spo2_scale is not None:
        effective_scale = overrides.spo2_scale
        applied.append("spo2_scale")
        reasons.append(reason("triage.override.spo2_scale", scale=effective_scale))

    points = spo2_points(value, scale=effective_scale, on_oxygen=on_oxygen, rules=RULE_SET.news2)
    rounded = round_half_up(value, RULE_SET.news2.spo2_scale_1.resolution)
    high_side = effective_scale == 2 and on_oxygen and rounded > rules.scale_2_target_high
    category: Spo2Category
    if rounded <= rules.critical_at_or_below[effective_scale]:
        category = "critical"
    elif points == 0:
        category = "normal"
    elif high_side:
        category = "very_high_on_oxygen" if points >= 3 else "high_on_oxygen"
    else:
        category = "very_low" if points >= 3 else "low"
    priority = rules.category_priority[category]

    if overrides is not None and overrides.spo2_target is not None:
        target = overrides.spo2_target
        applied.append("spo2_target")
        if priority in (Priority.RED, Priority.YELLOW):
            outcome = "urgent"
        elif value < target.low or (on_oxygen and value > target.high):
            outcome = "outside"
            priority = Priority.GREEN
        else:
            outcome = "within"
            priority = None
        reasons.append(
            reason(
                f"triage.override.spo2_target.{outcome}",
                low=display_number(target.low),
                high=display_number(target.high),
            )
        )

    reasons.insert(
        0, reason(f"triage.spo2.{category}", spo2=display_number(value), scale=effective_scale)
    )
    if on_oxygen:
        reasons.append(reason("triage.spo2.on_oxygen"))
    return Spo2Assessment(
        category=category,
        spo2=value,
        scale=1 if effective_scale == 1 else 2,
        on_oxygen=on_oxygen,
        news2_points=points,
        priority=priority,
        overrides_applied=tuple(applied),
        reasons=tuple(reasons),
        rule_set_version=RULE_SET.version,
    )
