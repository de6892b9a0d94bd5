"""The write gate: an emergency write goes next; readings wait while one is in flight."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from server.devices.ingest import WriteGate
from tests.support.waiting import wait_until


class _CountingCondition(threading.Condition):
    """The gate's condition, counting the threads blocked in it, so a test waits until a
    writer really is waiting instead of sleeping and hoping."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = 0

    def wait(self, timeout: float | None = None) -> bool:
        self.waiting += 1
        try:
            return super().wait(timeout)
        finally:
            self.waiting -= 1


def _gate(*, exclusive: bool) -> tuple[WriteGate, _CountingCondition]:
    gate = WriteGate(exclusive=exclusive)
    condition = _CountingCondition()
    gate._cond = condition
    return gate, condition


def _in_thread(
    gate: WriteGate, *, urgent: bool, order: list[str], name: str, then: Callable[[], Any] = bool
) -> threading.Thread:
    def work() -> None:
        with gate.hold(urgent=urgent):
            order.append(name)
            then()

    thread = threading.Thread(target=work)
    thread.start()
    return thread


def _join(*threads: threading.Thread) -> None:
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive(), "a writer is still stuck at the gate"


def test_on_sqlite_an_emergency_goes_before_readings_that_waited_longer() -> None:
    gate, condition = _gate(exclusive=True)
    order: list[str] = []
    with gate.hold(urgent=False):  # a reading transaction in progress
        reading = _in_thread(gate, urgent=False, order=order, name="reading")
        wait_until(lambda: condition.waiting == 1)
        panic = _in_thread(gate, urgent=True, order=order, name="panic")
        wait_until(lambda: condition.waiting == 2)
        assert gate.urgent_pending  # the projector sees this and commits early
        assert order == []  # nobody writes while the gate is held
    _join(panic, reading)
    assert order == ["panic", "reading"]
    assert not gate.urgent_pending


def test_on_postgresql_writes_run_side_by_side_but_readings_wait_for_an_emergency() -> None:
    gate, condition = _gate(exclusive=False)
    order: list[str] = []
    with gate.hold(urgent=False):
        other = _in_thread(gate, urgent=False, order=order, name="reading")
        _join(other)
        assert order == ["reading"]  # not blocked by the reading in progress
    release = threading.Event()
    emergency = _in_thread(gate, urgent=True, order=order, name="panic", then=release.wait)
    wait_until(lambda: order == ["reading", "panic"])
    waiting = _in_thread(gate, urgent=False, order=order, name="after")
    wait_until(lambda: condition.waiting == 1)
    assert order == ["reading", "panic"]  # the reading waits while the panic writes
    release.set()
    _join(emergency, waiting)
    assert order == ["reading", "panic", "after"]
