"""Console order: colour, real before test, then time left to the target, then risk, then age."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triage import Priority, order_alerts, priority_rank

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Alert:
    name: str
    priority: Priority
    due_at: datetime | None
    risk: float
    created_at: datetime
    test: bool = False


def _alert(
    name: str,
    priority: Priority = Priority.RED,
    *,
    left_s: float | None = 300,
    risk: float = 0,
    age_s: float = 60,
    test: bool = False,
) -> Alert:
    due = None if left_s is None else NOW + timedelta(seconds=left_s)
    return Alert(name, priority, due, risk, NOW - timedelta(seconds=age_s), test)


def _names(items: list[Alert]) -> list[str]:
    return [item.name for item in order_alerts(items, now=NOW)]


def test_priority_comes_first() -> None:
    items = [
        _alert("white", Priority.WHITE, left_s=-999, risk=9),
        _alert("green", Priority.GREEN, left_s=-999),
        _alert("red", Priority.RED, left_s=590),
        _alert("yellow", Priority.YELLOW, left_s=1),
    ]
    assert _names(items) == ["red", "yellow", "green", "white"]


def test_least_time_left_then_highest_risk_then_oldest() -> None:
    items = [
        _alert("later", left_s=500, risk=10),
        _alert("overdue", left_s=-30),
        _alert("soon-low-risk", left_s=100, risk=1),
        _alert("soon-high-risk", left_s=100, risk=5),
        _alert("soon-high-risk-older", left_s=100, risk=5, age_s=200),
        _alert("no-target", left_s=None, risk=99),
    ]
    assert _names(items) == [
        "overdue",
        "soon-high-risk-older",
        "soon-high-risk",
        "soon-low-risk",
        "later",
        "no-target",
    ]


def test_a_test_press_sorts_below_real_alerts_of_its_colour_only() -> None:
    items = [
        _alert("red-test-overdue", left_s=-300, risk=9, age_s=900, test=True),
        _alert("red-real-later", left_s=590, risk=0, age_s=10),
        _alert("red-real-no-target", left_s=None),
        _alert("yellow-real", Priority.YELLOW, left_s=-999),
        _alert("red-test-newer", left_s=590, age_s=10, test=True),
    ]
    assert _names(items) == [
        "red-real-later",
        "red-real-no-target",
        "red-test-overdue",
        "red-test-newer",
        "yellow-real",
    ]


def test_returns_a_new_list_and_leaves_the_input_alone() -> None:
    items = [_alert("b", Priority.GREEN), _alert("a")]
    ordered = order_alerts(items, now=NOW)
    assert [i.name for i in items] == ["b", "a"]
    assert ordered is not items
    assert order_alerts([], now=NOW) == []


def test_string_priorities_from_storage_are_accepted() -> None:
    items = [_alert("g", Priority.GREEN), Alert("r", "RED", NOW, 0, NOW)]  # type: ignore[arg-type]
    assert _names(items) == ["r", "g"]


def test_timezones_are_compared_as_instants() -> None:
    bangkok = timezone(timedelta(hours=7))
    early = Alert("bkk", Priority.RED, (NOW + timedelta(seconds=10)).astimezone(bangkok), 0, NOW)
    assert _names([_alert("utc", left_s=20), early]) == ["bkk", "utc"]


@pytest.mark.parametrize("field", ["now", "due_at", "created_at"])
def test_naive_datetimes_are_refused(field: str) -> None:
    naive = datetime(2026, 11, 22, 3, 0)
    item = _alert("a")
    now = NOW
    if field == "now":
        now = naive
    elif field == "due_at":
        item = Alert("a", Priority.RED, naive, 0, NOW)
    else:
        item = Alert("a", Priority.RED, NOW, 0, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        order_alerts([item], now=now)


def test_nan_risk_is_refused() -> None:
    with pytest.raises(ValueError, match="NaN"):
        order_alerts([_alert("a", risk=float("nan")), _alert("b")], now=NOW)


alerts = st.builds(
    _alert,
    st.text(min_size=1, max_size=3),
    st.sampled_from(list(Priority)),
    left_s=st.none() | st.integers(min_value=-600, max_value=600),
    risk=st.integers(min_value=0, max_value=10).map(float),
    age_s=st.integers(min_value=0, max_value=600),
    test=st.booleans(),
)


@given(st.lists(alerts, max_size=20))
def test_order_is_a_sorted_permutation(items: list[Alert]) -> None:
    ordered = order_alerts(items, now=NOW)
    assert sorted(map(id, ordered)) == sorted(map(id, items))
    for first, second in itertools.pairwise(ordered):
        assert priority_rank(first.priority) <= priority_rank(second.priority)
        if first.priority != second.priority:
            continue
        assert first.test <= second.test
        if first.test == second.test and second.due_at is not None:
            assert first.due_at is not None and first.due_at <= second.due_at
