"""Shared value types: priority colours, reasons and consciousness levels."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


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
