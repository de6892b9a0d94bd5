"""Shared value types: priority colours, reasons, consciousness levels and care-plan overrides."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Priority(StrEnum):
    """Console colours, most urgent first. None (no priority) means nothing to raise."""

    RED = "RED"
    YELLOW = "YELLOW"
    GREEN = "GREEN"
    WHITE = "WHITE"

    @property
    def rank(self) -> int:
        """0 for RED (most urgent) up to 3 for WHITE; sort ascending to see RED first."""
        return _RANK[self]

    def more_urgent_than(self, other: Priority | None) -> bool:
        return self.rank < priority_rank(other)


_RANK = {Priority.RED: 0, Priority.YELLOW: 1, Priority.GREEN: 2, Priority.WHITE: 3}
NO_PRIORITY_RANK = len(_RANK)


def priority_rank(priority: Priority | None) -> int:
    """Sort key: RED 0 ... WHITE 3, and None (nothing to raise) after all of them."""
    return NO_PRIORITY_RANK if priority is None else Priority(priority).rank


def most_urgent(priorities: Iterable[Priority | None]) -> Priority | None:
    """The most urgent of several priorities; None if none of them raises anything."""
    best: Priority | None = None
    for priority in priorities:
        if priority_rank(priority) < priority_rank(best):
            best = priority
    return best


ParamValue = str | int | float


class Reason(_Frozen):
    """Why a result is what it is: an i18n key (catalogue `triage.json`) and its parameters."""

    key: str
    params: dict[str, ParamValue] = Field(default_factory=dict)


class Consciousness(StrEnum):
    """NEWS2 ACVPU: alert, or new confusion / voice / pain / unresponsive."""

    ALERT = "alert"
    NEW_CONFUSION = "new_confusion"
    VOICE = "voice"
    PAIN = "pain"
    UNRESPONSIVE = "unresponsive"


def parse_consciousness(value: Consciousness | str) -> Consciousness:
    """ACVPU level from its code; anything else is an error naming the allowed codes."""
    try:
        return Consciousness(value)
    except ValueError:
        allowed = ", ".join(level.value for level in Consciousness)
        raise ValueError(f"consciousness must be one of {allowed}; got {value!r}") from None


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

    systolic_max: int = Field(ge=100, le=180)
    diastolic_max: int = Field(ge=60, le=110)


class Overrides(_Frozen):
    """Per-elder targets from a care plan, set by a clinician.

    They move only the follow-up line (GREEN versus nothing to raise). They never lower an
    urgent (YELLOW) or critical (RED) result, and every result lists the overrides it used.
    """

    spo2_scale: Literal[1, 2] | None = None
    spo2_target: TargetRange | None = None
    bp_target: BpTarget | None = None
    glucose_target: TargetRange | None = None  # mg/dL
    # Where the overrides come from (e.g. a care-plan id and version), echoed for audit.
    source: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _plausible(self) -> Self:
        if self.spo2_target is not None and not (
            self.spo2_target.low >= 70 and self.spo2_target.high <= 100
        ):
            raise ValueError("spo2_target must lie within 70-100 %")
        if self.glucose_target is not None and not (
            self.glucose_target.low >= 54 and self.glucose_target.high <= 400
        ):
            raise ValueError("glucose_target must lie within 54-400 mg/dL")
        return self
