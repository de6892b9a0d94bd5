"""The write gate: an emergency write goes next; readings wait while one is in flight."""

from __future__ import annotations

import threading
import time

from server.devices.ingest import WriteGate


def _in_thread(gate: WriteGate, *, urgent: bool, order: list[str], name: str) -> threading.Thread:
    def work() -> None:
        with gate.hold(urgent=urgent):
            order.append(name)

    thread = threading.Thread(target=work)
    thread.start()
    return thread


def test_on_sqlite_an_emergency_goes_before_readings_that_waited_longer() -> None:
    gate = WriteGate(exclusive=True)
    order: list[str] = []
    with gate.hold(urgent=False):  # a reading transaction in progress
        reading = _in_thread(gate, urgent=False, order=order, name="reading")
        time.sleep(0.05)
        panic = _in_thread(gate, urgent=True, order=order, name="panic")
        time.sleep(0.05)
        assert gate.urgent_pending  # the projector sees this and commits early
        assert order == []  # nobody writes while the gate is held
    panic.join(2)
    reading.join(2)
    assert order == ["panic", "reading"]
    assert not gate.urgent_pending


def test_on_postgresql_writes_run_side_by_side_but_readings_wait_for_an_emergency() -> None:
    gate = WriteGate(exclusive=False)
    order: list[str] = []
    with gate.hold(urgent=False):
        other = _in_thread(gate, urgent=False, order=order, name="reading")
        other.join(2)
        assert order == ["reading"]  # not blocked by the reading in progress
    release = threading.Event()

    def panic() -> None:
        with gate.hold(urgent=True):
            order.append("panic")
            release.wait(2)

    emergency = threading.Thread(target=panic)
    emergency.start()
    time.sleep(0.05)
    waiting = _in_thread(gate, urgent=False, order=order, name="after")
    time.sleep(0.05)
    assert order == ["reading", "panic"]  # the reading waits while the panic writes
    release.set()
    emergency.join(2)
    waiting.join(2)
    assert order == ["reading", "panic", "after"]
