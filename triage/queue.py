"""The order of open alerts on the dispatch console.

Most urgent colour first; within a colour, real alerts before test presses, then the least
time left to the response target (an overdue alert has negative time left, so it comes
first); then the higher risk; then the older alert. An alert with no target sorts after those
with one in its colour and kind. A test press stays in its colour so a dispatcher still sees
the drill, but it never pushes a real emergency down, however old it is.
Source: programme policy (the dispatch console's order, issue 3); risk comes from
`prioritise_event` (RULE_SET.risk).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol, TypeVar

from triage.models import Priority


class QueueItem(Protocol):
    @property
    def priority(self) -> Priority: ...

    @property
    def due_at(self) -> datetime | None: ...

    @property
    def test(self) -> bool: ...

    @property
    def risk(self) -> float: ...

    @property
    def created_at(self) -> datetime: ...


Item = TypeVar("Item", bound=QueueItem)


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {value.isoformat()}")
    return value


def queue_key(item: QueueItem, *, now: datetime) -> tuple[int, bool, float, float, datetime]:
    """The sort key `order_alerts` uses: (colour rank, test, seconds left, -risk, created_at)."""
    if item.due_at is None:
        seconds_left = math.inf
    else:
        seconds_left = (_aware(item.due_at, "due_at") - now).total_seconds()
    risk = float(item.risk)
    if math.isnan(risk):
        raise ValueError("risk must be a number, got NaN")
    return (
        Priority(item.priority).rank,
        bool(item.test),
        seconds_left,
        -risk,
        _aware(item.created_at, "created_at"),
    )


def order_alerts(items: Iterable[Item], *, now: datetime) -> list[Item]:
    """A new list of the alerts in console order; the input is not changed."""
    _aware(now, "now")
    return sorted(items, key=lambda item: queue_key(item, now=now))
