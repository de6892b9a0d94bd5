"""Per-elder targets from a care plan, and the limits a care plan must stay within."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from triage.rules import RULE_SET


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TargetRange(_Frozen):
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.low < self.high:
            raise ValueError(f"target low ({self.low}) must be below high ({self.high})")
        return self


class BpTarget(_Frozen):
    """A personal blood-pressure goal: readings at or below both are not followed up."""

    systolic_max: int
    diastolic_max: int

    @model_validator(mode="after")
    def _within_limits(self) -> Self:
        limits = RULE_SET.override_limits
        for name, value, (low, high) in (
            ("systolic_max", self.systolic_max, limits.bp_systolic_max_range),
            ("diastolic_max", self.diastolic_max, limits.bp_diastolic_max_range),
        ):
            if not low <= value <= high:
                raise ValueError(f"bp_target {name} must be {low}-{high} mmHg, got {value}")
        return self


class Overrides(_Frozen):
    """Per-elder targets from a care plan, set by a clinician.

    They move only the follow-up line (GREEN versus nothing to raise). They never lower an
    urgent (YELLOW) or critical (RED) result, and every result lists the overrides it used
    (`overrides_applied`) with a reason naming the target. Limits: RULE_SET.override_limits.
    """

    spo2_scale: Literal[1, 2] | None = None
    spo2_target: TargetRange | None = None
    bp_target: BpTarget | None = None
    glucose_target: TargetRange | None = None  # mg/dL
    # Where the overrides come from (e.g. a care-plan id and version), echoed for audit.
    source: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _within_limits(self) -> Self:
        limits = RULE_SET.override_limits
        spo2, glucose = self.spo2_target, self.glucose_target
        if spo2 is not None and not (
            limits.spo2_target_min <= spo2.low and spo2.high <= limits.spo2_target_max
        ):
            raise ValueError(
                f"spo2_target must lie within {limits.spo2_target_min:g}-"
                f"{limits.spo2_target_max:g} %"
            )
        if glucose is not None and not (
            limits.glucose_target_min <= glucose.low and glucose.high <= limits.glucose_target_max
        ):
            raise ValueError(
                f"glucose_target must lie within {limits.glucose_target_min:g}-"
                f"{limits.glucose_target_max:g} mg/dL"
            )
        return self
