"""Drivers end to end: simulated peripherals → bumble link → bleak → driver → sink."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from device_agent.ble import BleDeviceSpec, DeviceKind, Timing, run_devices
from device_agent.gatt import bthome, racp
from device_agent.gatt.vendor import berrymed
from device_agent.sim import (
    SimulatedBerryMedOximeter,
    SimulatedBloodPressureMonitor,
    SimulatedBthomeButton,
    SimulatedGlucoseMeter,
    SimulatedHome,
    SimulatedItagButton,
    SimulatedPlxOximeter,
)
from eldercare_protocol import (
    BatteryEvent,
    DeviceStatus,
    DeviceStatusEvent,
    MeasurementCode,
    PanicEvent,
    PressType,
    VitalsEvent,
)
from tests.device_agent.ble.conftest import (
    FAST,
    RERUN_ON_BUMBLE_HANG,
    MemoryHealth,
    MemorySink,
    simulated_home,
)
from tests.support.waiting import wait_until_async

BIND_KEY = "231d39c1d7cc1ab1aee224cd096db932"


# A hung test fails after 90 s instead of 300 s. Only a stuck connect inside bumble is tried
# again (see conftest.simulated_home); any other failure fails at once.
pytestmark = [pytest.mark.timeout(90), RERUN_ON_BUMBLE_HANG]


@contextlib.asynccontextmanager
async def running(
    home: SimulatedHome,
    specs: Sequence[BleDeviceSpec],
    sink: MemorySink,
    health: MemoryHealth,
    *,
    state_path: Path | None = None,
    timing: Timing = FAST,
) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(
        run_devices(
            specs, sink, health=health, backend=home.backend, state_path=state_path, timing=timing
        )
    )
    try:
        yield task
    finally:
        # run_devices works until cancelled: one that ended by itself (or crashed) while the
        # devices were being exercised is a failure, and its exception says why.
        ended_early = task.done()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert not ended_early, "run_devices stopped before it was cancelled"
    assert task.cancelled(), "run_devices swallowed its cancellation"


def vitals(sink: MemorySink) -> list[VitalsEvent]:
    return [e for e in sink.events if isinstance(e, VitalsEvent)]


def values(event: VitalsEvent) -> dict[MeasurementCode, tuple[float, str]]:
    return {m.code: (m.value, m.unit) for m in event.payload.measurements}


def statuses(sink: MemorySink) -> list[DeviceStatusEvent]:
    return [e for e in sink.events if isinstance(e, DeviceStatusEvent)]


def panics(sink: MemorySink) -> list[PanicEvent]:
    return [e for e in sink.events if isinstance(e, PanicEvent)]


async def test_bp_monitor_stored_readings_become_vitals(
    sink: MemorySink, health: MemoryHealth
) -> None:
    bp = SimulatedBloodPressureMonitor()
    taken = datetime.now().replace(microsecond=0) - timedelta(hours=1)
    first = bp.add_reading(
        systolic=138, diastolic=88, mean_arterial_pressure=120, pulse_rate=60, timestamp=taken
    )
    bp.add_reading(systolic=182, diastolic=121, pulse_rate=95, status=0x0004)
    spec = BleDeviceSpec(name="bp", kind=DeviceKind.BLOOD_PRESSURE, address=bp.address)
    async with simulated_home([bp]) as home, running(home, [spec], sink, health):
        await sink.wait_for(lambda _e: len(vitals(sink)) >= 2)
        # Another session, over before the test ends, must not forward the same readings again.
        await wait_until_async(lambda: bp.connection_count >= 2 and not bp.connections)
    readings = vitals(sink)
    assert len(readings) == 2
    one, two = readings
    assert one.device == "C1:B0:0D:00:00:01"
    assert values(one) == {
        MeasurementCode.SYSTOLIC: (138, "mm[Hg]"),
        MeasurementCode.DIASTOLIC: (88, "mm[Hg]"),
        MeasurementCode.MEAN_ARTERIAL_PRESSURE: (120, "mm[Hg]"),
        MeasurementCode.PULSE: (60, "/min"),
    }
    assert one.payload.raw_hex == first.hex()
    assert one.payload.device_time == taken
    assert one.payload.device_clock_suspect is False
    assert values(two)[MeasurementCode.SYSTOLIC] == (182, "mm[Hg]")
    assert two.payload.flags["irregular_pulse"] is True
    assert two.payload.device_time is None and two.payload.device_clock_suspect is True
    assert bp.stored == []
    battery = [e for e in sink.events if isinstance(e, BatteryEvent)]
    assert [b.payload.level for b in battery] == [80]  # reported once, not per session
    assert any(u.reachable and u.battery == 80 for u in health.updates)


async def test_bp_monitor_requiring_bonding_reports_pairing_required_once(
    sink: MemorySink, health: MemoryHealth, caplog: pytest.LogCaptureFixture
) -> None:
    bp = SimulatedBloodPressureMonitor(require_bonding=True)
    bp.add_reading(systolic=130, diastolic=85)
    spec = BleDeviceSpec(name="bp", kind=DeviceKind.BLOOD_PRESSURE, address=bp.address)
    async with simulated_home([bp]) as home, running(home, [spec], sink, health):
        await sink.wait_for(
            lambda _e: any(
                s.payload.status == DeviceStatus.PAIRING_REQUIRED for s in statuses(sink)
            )
        )
        await asyncio.sleep(1.5)  # a fast retry loop would have knocked several times by now
    pairing = [s for s in statuses(sink) if s.payload.status == DeviceStatus.PAIRING_REQUIRED]
    assert len(pairing) == 1
    detail = pairing[0].payload.detail or ""
    assert f"bluetoothctl pair {bp.address}" in detail
    assert "pairing mode" in detail
    assert bp.refused_subscriptions == 1
    assert vitals(sink) == []
    assert bp.stored != []  # nothing lost: the cuff keeps the reading until paired
    assert "PAIRING REQUIRED" in caplog.text
    assert any(u.problem == "pairing required" for u in health.updates)


async def test_glucose_fetches_only_new_records_across_restarts(
    sink: MemorySink, health: MemoryHealth, tmp_path: Path
) -> None:
    meter = SimulatedGlucoseMeter()
    base = datetime.now().replace(microsecond=0) - timedelta(days=1)
    meter.add_record(mg_dl=112, base_time=base)
    meter.add_record(mg_dl=100, base_time=base + timedelta(hours=1), control_solution=True)
    meter.add_record(mg_dl=54, base_time=base + timedelta(hours=2), meal=2)
    spec = BleDeviceSpec(name="glucose", kind=DeviceKind.GLUCOSE, address=meter.address)
    state = tmp_path / "ble-state.sqlite3"
    async with simulated_home([meter]) as home:
        async with running(home, [spec], sink, health, state_path=state):
            await sink.wait_for(lambda _e: len(vitals(sink)) >= 2)
            # A second session asks only for what is newer, and gets nothing.
            await wait_until_async(lambda: racp.report_after(3) in meter.requests)
        first_run = vitals(sink)
        assert [values(e)[MeasurementCode.GLUCOSE] for e in first_run] == [
            (112, "mg/dL"),
            (54, "mg/dL"),
        ]
        assert [e.payload.sequence_number for e in first_run] == [1, 3]
        assert first_run[1].payload.flags["meal"] == "postprandial"
        assert meter.requests[0] == racp.report_all()
        assert racp.report_after(3) in meter.requests[1:]

        meter.add_record(mg_dl=180.5, base_time=base + timedelta(hours=5))
        second = MemorySink()
        async with running(home, [spec], second, health, state_path=state):
            await second.wait_for(lambda _e: len(vitals(second)) >= 1)
            await wait_until_async(lambda: racp.report_after(4) in meter.requests)
        new = vitals(second)
        assert [e.payload.sequence_number for e in new] == [4]
        assert values(new[0])[MeasurementCode.GLUCOSE] == (180.5, "mg/dL")
        all_ids = [e.id for e in first_run + new]
        assert len(set(all_ids)) == len(all_ids)


async def test_bthome_presses_dedup_long_press_and_test_pattern(
    sink: MemorySink, health: MemoryHealth
) -> None:
    button = SimulatedBthomeButton()
    spec = BleDeviceSpec(name="button", kind=DeviceKind.BTHOME_BUTTON, address=button.address)
    async with simulated_home([button]) as home, running(home, [spec], sink, health):
        # The hub hears the button's idle adverts before it is pressed.
        await sink.wait_for(
            lambda _e: any(s.payload.status == DeviceStatus.CONNECTED for s in statuses(sink))
        )
        await button.press(bthome.ButtonEvent.LONG_PRESS)
        await sink.wait_for(lambda _e: len(panics(sink)) >= 1)
        await asyncio.sleep(0.6)  # the same press advertised about six times more
        await button.press(bthome.ButtonEvent.TRIPLE_PRESS)
        await sink.wait_for(lambda _e: len(panics(sink)) >= 2)
        await asyncio.sleep(0.4)
    got = panics(sink)
    assert [(p.payload.press, p.payload.test, p.payload.source) for p in got] == [
        (PressType.LONG, False, "bthome"),
        (PressType.TRIPLE, True, "bthome"),
    ]
    assert [e.payload.level for e in sink.events if isinstance(e, BatteryEvent)] == [95]


async def test_bthome_encrypted_with_and_without_the_bind_key(
    sink: MemorySink, health: MemoryHealth
) -> None:
    keyed = SimulatedBthomeButton(address="C1:B0:0D:00:00:07", name="SBBT-K", bind_key=BIND_KEY)
    keyless = SimulatedBthomeButton(address="C1:B0:0D:00:00:08", name="SBBT-X", bind_key=BIND_KEY)
    specs = [
        BleDeviceSpec(
            name="keyed", kind=DeviceKind.BTHOME_BUTTON, address=keyed.address, bind_key=BIND_KEY
        ),
        BleDeviceSpec(name="keyless", kind=DeviceKind.BTHOME_BUTTON, address=keyless.address),
    ]
    async with simulated_home([keyed, keyless]) as home, running(home, specs, sink, health):
        await keyed.press(bthome.ButtonEvent.LONG_PRESS)
        await keyless.press(bthome.ButtonEvent.LONG_PRESS)
        await sink.wait_for(lambda _e: len(panics(sink)) >= 1)
        await sink.wait_for(
            lambda _e: any(s.payload.status == DeviceStatus.ERROR for s in statuses(sink))
        )
        await asyncio.sleep(1.0)  # ten more undecryptable adverts: still one error
    got = panics(sink)
    assert [(p.device, p.payload.press) for p in got] == [(keyed.address, PressType.LONG)]
    errors = [s for s in statuses(sink) if s.payload.status == DeviceStatus.ERROR]
    assert len(errors) == 1
    assert errors[0].device == keyless.address
    assert "bind key" in (errors[0].payload.detail or "")


async def test_itag_press_panics_and_reconnects_after_a_drop(
    sink: MemorySink, health: MemoryHealth
) -> None:
    tag = SimulatedItagButton()
    spec = BleDeviceSpec(name="tag", kind=DeviceKind.ITAG_BUTTON, address=tag.address)
    async with simulated_home([tag]) as home, running(home, [spec], sink, health):
        await sink.wait_for(
            lambda _e: any(s.payload.status == DeviceStatus.CONNECTED for s in statuses(sink))
        )
        await wait_until_async(lambda: tag.subscribed)
        await tag.press()
        await sink.wait_for(lambda _e: len(panics(sink)) == 1)
        await tag.go_out_of_range()
        await sink.wait_for(
            lambda _e: any(s.payload.status == DeviceStatus.UNREACHABLE for s in statuses(sink))
        )
        assert any(not u.reachable for u in health.updates)
        await tag.come_back()
        await sink.wait_for(lambda _e: statuses(sink)[-1].payload.status == DeviceStatus.CONNECTED)
        await wait_until_async(lambda: tag.subscribed)
        await tag.press()
        await sink.wait_for(lambda _e: len(panics(sink)) == 2)
    assert all(p.payload.source == "itag" and not p.payload.test for p in panics(sink))


async def test_plx_spot_check_becomes_vitals(sink: MemorySink, health: MemoryHealth) -> None:
    plx = SimulatedPlxOximeter()
    plx.add_reading(spo2=91, pulse_rate=104, device_clock_not_set=True)
    spec = BleDeviceSpec(name="plx", kind=DeviceKind.OXIMETER, address=plx.address)
    async with simulated_home([plx]) as home, running(home, [spec], sink, health):
        await sink.wait_for(lambda _e: len(vitals(sink)) >= 1)
    event = vitals(sink)[0]
    assert values(event) == {
        MeasurementCode.SPO2: (91, "%"),
        MeasurementCode.PULSE: (104, "/min"),
    }
    assert event.payload.device_clock_suspect is True


async def test_berrymed_reading_is_the_median_of_valid_frames(
    sink: MemorySink, health: MemoryHealth
) -> None:
    good = [berrymed.encode_frame(spo2=s, pulse_rate=p) for s, p in [(97, 72), (98, 74), (96, 71)]]
    invalid = [
        berrymed.encode_frame(spo2=None, pulse_rate=72),  # SpO2 127
        berrymed.encode_frame(spo2=97, pulse_rate=None),  # PR 255
        berrymed.encode_frame(spo2=60, pulse_rate=30, no_finger=True),
    ]
    ox = SimulatedBerryMedOximeter(frames=good + invalid, frame_interval=0.002)
    spec = BleDeviceSpec(
        name="ox",
        kind=DeviceKind.OXIMETER,
        address=ox.address,
        driver="berrymed_oximeter",
        options={"min_valid_frames": 20},
    )
    async with simulated_home([ox]) as home, running(home, [spec], sink, health):
        await sink.wait_for(lambda _e: len(vitals(sink)) >= 1)
    event = vitals(sink)[0]
    assert values(event) == {MeasurementCode.SPO2: (97, "%"), MeasurementCode.PULSE: (72, "/min")}
    assert int(event.payload.flags["frames"]) >= 20
    assert ox.sent_frames > int(event.payload.flags["frames"])  # invalid ones were dropped


async def test_one_crashing_device_does_not_stop_the_others(
    sink: MemorySink, health: MemoryHealth
) -> None:
    tag = SimulatedItagButton()
    specs = [
        BleDeviceSpec(
            name="broken", kind=DeviceKind.GLUCOSE, address="C1:00:00:00:00:99", driver="nope"
        ),
        BleDeviceSpec(name="absent", kind=DeviceKind.BLOOD_PRESSURE, address="C1:00:00:00:00:98"),
        BleDeviceSpec(name="tag", kind=DeviceKind.ITAG_BUTTON, address=tag.address),
    ]
    timing = replace(FAST, scan_timeout=0.3)
    async with simulated_home([tag]) as home, running(home, specs, sink, health, timing=timing):
        await sink.wait_for(
            lambda _e: any(
                s.device == tag.address and s.payload.status == DeviceStatus.CONNECTED
                for s in statuses(sink)
            )
        )
        await wait_until_async(lambda: tag.subscribed)
        await tag.press()
        await sink.wait_for(lambda _e: len(panics(sink)) == 1)
        # The absent cuff is reported while the others carry on.
        await sink.wait_for(
            lambda _e: any(
                s.device == "C1:00:00:00:00:98" and s.payload.status == DeviceStatus.UNREACHABLE
                for s in statuses(sink)
            )
        )
    assert any(
        u.device == "C1:00:00:00:00:99" and "unknown driver" in (u.problem or "")
        for u in health.updates
    )
