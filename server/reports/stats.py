"""Small, dependency-free statistics the reports share (the same on SQLite and PostgreSQL).

Percentiles are computed in Python from the rows a report loads, not in SQL: SQLite has no
percentile function, and one definition on both databases keeps the figures identical.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from server.common.time import BANGKOK
from server.i18n import THAI_MONTHS_SHORT, Locale

# Below this many, a public figure is shown as "<5" so no elder can be picked out.
SMALL_COUNT = 5


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..1): a value that really occurred, never interpolated."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def share_within(values: Sequence[float], target: float) -> float | None:
    """The share (0..1) of values at or under the target; None when there is nothing to judge."""
    if not values:
        return None
    return sum(1 for v in values if v <= target) / len(values)


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def suppress(count: int) -> str:
    """A count as published: fewer than five (but not none) becomes "<5"."""
    return f"<{SMALL_COUNT}" if 0 < count < SMALL_COUNT else str(count)


def month_key(moment: datetime, zone: ZoneInfo = BANGKOK) -> str:
    """ "2026-11": the month a moment falls in, in the municipality's time zone."""
    local = moment.astimezone(zone)
    return f"{local.year:04d}-{local.month:02d}"


def month_start(key: str) -> date:
    year, month = key.split("-")
    return date(int(year), int(month), 1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def month_bounds(
    first: date, *, months: int = 1, zone: ZoneInfo = BANGKOK
) -> tuple[datetime, datetime]:
    """UTC start and end of `months` calendar months from `first`, counted in local time."""
    start = datetime(first.year, first.month, 1, tzinfo=zone)
    last = add_months(first, months)
    end = datetime(last.year, last.month, 1, tzinfo=zone)
    return start, end


def month_keys(last: date, count: int) -> list[str]:
    """The `count` months ending with `last`, oldest first."""
    return [
        f"{d.year:04d}-{d.month:02d}"
        for d in (add_months(last, -i) for i in range(count - 1, -1, -1))
    ]


ENGLISH_MONTHS_SHORT = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip


def month_label(key: str, locale: Locale) -> str:
    """ "พ.ย. 69" (Buddhist Era, two digits) in Thai; "Nov 26" in English."""
    first = month_start(key)
    if locale == "th":
        return f"{THAI_MONTHS_SHORT[first.month - 1]} {(first.year + 543) % 100:02d}"
    return f"{ENGLISH_MONTHS_SHORT[first.month - 1]} {first.year % 100:02d}"
