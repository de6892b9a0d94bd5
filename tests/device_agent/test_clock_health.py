"""Device clocks, hub health and heartbeats."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import pytest

from device_agent.clock import device_clock_suspect, vitals_event
from device_agent.health import HubHealth, heartbeat_event, heartbeat_loop
from eldercare_protocol import Event, HeartbeatEvent, Measurement, MeasurementCode
from tests.support.waiting import wait_until_async

HUB = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)  # 12:00 in Bangkok


def test_a_device_clock_close_to_the_hub_is_trusted() -> None:
    local = datetime(2026, 3, 1, 12, 3)  # naive Bangkok wall time, 3 min off
    assert not device_clock_suspect(local, hub_time=HUB)
    assert not device_clock_suspect(None, hub_time=HUB)


@pytest.mark.parametrize(
    "device_time",
    [
        datetime(2026, 3, 1, 12, 11),  # 11 minutes ahead
        datetime(2026, 3, 1, 5, 0),  # UTC written as local: 7 hours behind
        datetime(2000, 1, 1, 0, 0),  # reset clock
        HUB + timedelta(days=2),
    ],
)
def test_far_off_or_unset_device_clocks_are_flagged(device_time: datetime) -> None:
    assert device_clock_suspect(device_time, hub_time=HUB)


def test_a_device_that_says_its_clock_is_unset_is_flagged() -> None:
    assert device_clock_suspect(None, hub_time=HUB, clock_not_set=True)


def test_hub_time_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        device_clock_suspect(None, hub_time=datetime(2026, 1, 1))


def test_vitals_event_keeps_both_clocks() -> None:
    event = vitals_event(
        device="bp",
        measurements=[Measurement(code=MeasurementCode.SYSTOLIC, value=120, unit="mm[Hg]")],
        received_at=HUB,
        device_time=datetime(2000, 1, 1),
    )
    assert event.occurred_at == HUB
    assert event.payload.device_time == datetime(2000, 1, 1)
    assert event.payload.device_clock_suspect


def test_hub_health_reports_what_the_hub_cannot_reach() -> None:
    health = HubHealth(ble=["bp", "button"], wired=["wired"])
    (bp, button, wired) = health.snapshot()
    assert not bp.reachable and bp.problem == "not seen yet"
    health.update("bp", reachable=True, battery=140)
    health.update("button", reachable=False)
    health.update("wired", reachable=True)
    bp, button, wired = health.snapshot()
    assert bp.reachable and bp.battery == 100 and bp.last_seen is not None and bp.problem is None
    assert not button.reachable and button.problem == "out of range"
    # A device that answers but needs a person keeps its problem while reachable.
    health.update("button", reachable=True, problem="pairing required")
    _, button, _ = health.snapshot()
    assert button.reachable and button.problem == "pairing required"
    health.update("button", reachable=False, battery=-3, problem="x" * 300)
    _, button, _ = health.snapshot()
    assert button.battery == 0 and button.problem == "x" * 200
    health.adapter(ok=False)
    bp, _, wired = health.snapshot()
    assert not bp.reachable and bp.problem == "bluetooth adapter missing"
    # A wired button does not need the Bluetooth adapter.
    assert wired.reachable and wired.problem is None
    health.adapter(ok=True)
    bp, _, _ = health.snapshot()
    assert bp.reachable and bp.problem is None


def test_heartbeat_event_carries_hub_status() -> None:
    health = HubHealth(ble=["bp"])
    health.update("bp", reachable=True, battery=15)
    event = heartbeat_event(
        device="hub",
        started_monotonic=0.0,
        outbox_depth=7,
        adapter_ok=True,
        devices=health.snapshot(),
    )
    assert event.payload.outbox_depth == 7
    assert event.payload.devices[0].battery == 15
    assert event.payload.uptime_s > 0
    assert event.payload.agent_version


async def test_heartbeat_loop_emits_at_once_and_then_periodically() -> None:
    emitted: list[Event] = []
    slept: list[float] = []
    wake: asyncio.Queue[None] = asyncio.Queue()

    class Sink:
        async def emit(self, event: Event) -> None:
            emitted.append(event)

    async def depth() -> int:
        return len(emitted)

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        await wake.get()

    task = asyncio.create_task(
        heartbeat_loop(
            sink=Sink(), interval_s=30, outbox_depth=depth, health=HubHealth(), sleep=sleep
        )
    )
    try:
        # At once: the first heartbeat is out before the loop first waits.
        await wait_until_async(lambda: len(slept) == 1)
        assert len(emitted) == 1
        for beats in (2, 3):
            wake.put_nowait(None)
            await wait_until_async(lambda: len(slept) == beats)  # noqa: B023
            assert len(emitted) == beats
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert slept == [30, 30, 30]
    assert all(isinstance(e, HeartbeatEvent) for e in emitted)
    assert [e.payload.outbox_depth for e in emitted] == [0, 1, 2]  # type: ignore[union-attr]
