"""Bounded memo tables for triage's pure functions.

Triage is a pure function of small inputs, and a home's readings repeat: the same
blood-pressure pair, the same NEWS2 parameters, the same handful of reasons. Building and
validating the result objects was most of a reading's cost, so each result is built once
and shared (they are frozen). A table that fills up starts a new generation rather than
evicting entry by entry: hot entries move across on their next hit, the rest go.

Keys carry each value's type, because `1 == 1.0 == True` in Python while the results
written for them differ (`1` versus `1.0` in a reason's parameters).

`reference()` turns the tables off, so a test can compare the memoised path with the plain
one over the same cases.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping
from contextlib import contextmanager
from typing import Generic, TypeVar

V = TypeVar("V")

# Entries per generation (a table holds two). A distinct reading held costs about 6.6 KB
# across the four tables (its assessment, blood pressure, NEWS2 and reasons), so they stay
# under about 30 MB in a server that runs for months. At 50,000 entries they grew by about
# 60 MB an hour under a province's load, towards 300 MB before the first clearing, and a
# soak saw that as a leak.
TABLE_SIZE = 2_048

_state = {"enabled": True}


def typed(value: object) -> tuple[type, object]:
    return (type(value), value)


def typed_items(values: Mapping[str, object]) -> tuple[tuple[str, type, object], ...]:
    """A mapping as a key: order kept (it is the order of the result's lists and dicts)."""
    return tuple((name, type(value), value) for name, value in values.items())


class Memo(Generic[V]):
    """Two generations: a full table becomes the old one and a new one starts; an entry found
    in the old one moves to the new. What a home keeps measuring survives the turn, so there
    is no storm of misses when a table fills, and at most twice `size` entries are held."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._table: dict[Hashable, V] = {}
        self._old: dict[Hashable, V] = {}

    def __len__(self) -> int:
        return len(self._table) + len(self._old)

    def get(self, key: Hashable) -> V | None:
        if not _state["enabled"]:
            return None
        found = self._table.get(key)
        if found is None:
            found = self._old.get(key)
            if found is not None:
                self.put(key, found)
        return found

    def put(self, key: Hashable, value: V) -> V:
        if _state["enabled"]:
            if len(self._table) >= self._size:
                self._old, self._table = self._table, {}
            self._table[key] = value
        return value


@contextmanager
def reference() -> Iterator[None]:
    """Every result computed afresh while inside (the reference path, for tests)."""
    before = _state["enabled"]
    _state["enabled"] = False
    try:
        yield
    finally:
        _state["enabled"] = before
