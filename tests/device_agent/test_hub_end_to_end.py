"""The whole hub: simulated BLE peripherals → bleak over bumble → drivers → runtime → durable
outbox → WebSocket uplink → a loopback server speaking the agent protocol.

Nothing is mocked: the peripherals serve real GATT over bumble's in-memory link, the hub
uses bleak's public API, the outbox is SQLite on disk and the uplink a real WebSocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from device_agent import cli
from device_agent.ble.state import BleState
from device_agent.config import AgentConfig, parse_config
from device_agent.gatt import bthome
from device_agent.local_button import LocalButton
from device_agent.outbox import Outbox
from device_agent.runtime import Agent
from device_agent.sim import (
    SimulatedBloodPressureMonitor,
    SimulatedBthomeButton,
    SimulatedGlucoseMeter,
)
from eldercare_protocol import (
    DeviceHealth,
    DeviceStatus,
    DeviceStatusEvent,
    HeartbeatEvent,
    MeasurementCode,
    PanicEvent,
    PressType,
    VitalsEvent,
)
from tests.support.waiting import wait_until_async

from .ble.conftest import FAST, RERUN_ON_BUMBLE_HANG, simulated_home
from .fake_server import TOKEN, FakeWsServer

ROOT = Path(__file__).resolve().parents[2]
# Reconnect quickly and never fall back to HTTP: the in-test server only speaks WebSocket.
FAST_UPLINK = {
    "backoff_base_s": 0.05,
    "backoff_cap_s": 0.3,
    "ws_failures_before_http": 1000,
    "open_timeout_s": 2.0,
}


# A hung test fails after 90 s instead of 300 s. Only a stuck connect inside bumble is tried
# again (see conftest.simulated_home); any other failure fails at once.
pytestmark = [pytest.mark.timeout(90), RERUN_ON_BUMBLE_HANG]


def hub_config(server: FakeWsServer, state: Path, devices: list[dict[str, Any]]) -> AgentConfig:
    return parse_config(
        {
            "server_url": server.url,
            "token": TOKEN,
            "outbox_path": str(state / "outbox.sqlite3"),
            "heartbeat_interval_s": 1,
            "hub_device": "hub-e2e",
            "devices": devices,
            "uplink": FAST_UPLINK,
        }
    )


@contextlib.asynccontextmanager
async def running(agent: Agent) -> AsyncIterator[Agent]:
    task = asyncio.create_task(agent.run())
    try:
        yield agent
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def stored(server: FakeWsServer) -> list[Any]:
    return [server.store.events[i] for i in server.store.order]


def vitals_from(server: FakeWsServer, device: str) -> list[VitalsEvent]:
    return [e for e in stored(server) if isinstance(e, VitalsEvent) and e.device == device]


def panics(server: FakeWsServer) -> list[PanicEvent]:
    return [e for e in stored(server) if isinstance(e, PanicEvent)]


def heartbeats(server: FakeWsServer) -> list[HeartbeatEvent]:
    return [e for e in stored(server) if isinstance(e, HeartbeatEvent)]


def latest_health(server: FakeWsServer) -> dict[str, DeviceHealth]:
    beats = heartbeats(server)
    return {d.device: d for d in beats[-1].payload.devices} if beats else {}


def values(event: VitalsEvent) -> dict[MeasurementCode, tuple[float, str]]:
    return {m.code: (m.value, m.unit) for m in event.payload.measurements}


@pytest.mark.slow
async def test_ble_devices_reach_the_server_and_an_offline_panic_goes_first(
    tmp_path: Path,
) -> None:
    now = datetime.now().replace(microsecond=0)
    bp = SimulatedBloodPressureMonitor()
    first_bp = bp.add_reading(
        systolic=138,
        diastolic=88,
        mean_arterial_pressure=105,
        pulse_rate=72,
        timestamp=now - timedelta(hours=2),
    )
    bp.add_reading(systolic=184, diastolic=122, pulse_rate=97, timestamp=now - timedelta(hours=1))
    # A second cuff nobody has paired yet: the hub must say so, not retry in a loop.
    unpaired = SimulatedBloodPressureMonitor(
        address="C1:B0:0D:00:00:11", name="BP-Unpaired", require_bonding=True
    )
    unpaired.add_reading(systolic=120, diastolic=80)
    button = SimulatedBthomeButton()
    meter = SimulatedGlucoseMeter()
    meter.add_record(mg_dl=112, base_time=now - timedelta(hours=5))
    meter.add_record(mg_dl=100, base_time=now - timedelta(hours=4), control_solution=True)
    meter.add_record(mg_dl=145, base_time=now - timedelta(hours=1), meal=2)

    server = FakeWsServer()
    await server.start()
    state = tmp_path / "state"
    config = hub_config(
        server,
        state,
        [
            {"name": "bp", "kind": "bp", "address": bp.address},
            {"name": "bp-2", "kind": "bp", "address": unpaired.address},
            {"name": "panic", "kind": "bthome_button", "address": button.address},
            {"name": "glucose", "kind": "glucose", "address": meter.address},
        ],
    )
    try:
        async with (
            simulated_home([bp, unpaired, button, meter]) as home,
            running(Agent(config, ble_backend=home.backend, ble_timing=FAST)) as agent,
        ):
            # Stored readings: both cuff readings, the meter's two real samples.
            await wait_until_async(
                lambda: (
                    len(vitals_from(server, bp.address)) == 2
                    and len(vitals_from(server, meter.address)) == 2
                ),
                within=15,
            )

            # One long press, advertised again and again: one panic.
            await button.press(bthome.ButtonEvent.LONG_PRESS)
            await wait_until_async(lambda: len(panics(server)) == 1)
            await asyncio.sleep(0.8)  # eight more adverts of the same press
            assert len(panics(server)) == 1

            # Heartbeats carry what the drivers report.
            await wait_until_async(
                lambda: (
                    (h := latest_health(server))
                    and h[bp.address].battery == 80
                    and h[meter.address].battery == 70
                    and h[button.address].battery == 95
                    and h[unpaired.address].problem == "pairing required"
                ),
                within=10,
            )
            health = latest_health(server)
            assert health[bp.address].reachable and health[bp.address].problem is None
            assert health[button.address].reachable
            assert health[unpaired.address].reachable  # it answers; it needs a person

            # The cuff is carried out of the house: a later heartbeat says so. (20 s: the
            # simulated radio runs in this process, and a full CI run on a loaded 2-core
            # machine once took longer than 10 s here.)
            await bp.go_out_of_range()
            await wait_until_async(
                lambda: not latest_health(server)[bp.address].reachable, within=20
            )
            assert latest_health(server)[bp.address].problem
            assert latest_health(server)[meter.address].battery == 70

            # The server goes away; the button is pressed meanwhile.
            await server.stop()
            delivered_before = len(server.store.order)
            await button.press(bthome.ButtonEvent.LONG_PRESS)
            await eventually(lambda: _queued(agent, urgent=1, total=3))
            await server.start()
            await wait_until_async(lambda: len(panics(server)) == 2, within=10)
            await wait_until_async(lambda: len(server.store.order) > delivered_before + 2)

            glucose_state = BleState(config.ble_state_path)
            try:
                assert glucose_state.last_glucose_sequence(meter.address) == 3
            finally:
                glucose_state.close()
    finally:
        await server.stop()

    offline_panic = panics(server)[1]
    assert server.store.order[delivered_before] == str(offline_panic.id)
    assert offline_panic.payload.press == PressType.LONG and not offline_panic.payload.test
    assert offline_panic.device == button.address

    readings = vitals_from(server, bp.address)
    assert len(readings) == 2  # later sessions did not forward them again
    assert values(readings[0]) == {
        MeasurementCode.SYSTOLIC: (138, "mm[Hg]"),
        MeasurementCode.DIASTOLIC: (88, "mm[Hg]"),
        MeasurementCode.MEAN_ARTERIAL_PRESSURE: (105, "mm[Hg]"),
        MeasurementCode.PULSE: (72, "/min"),
    }
    assert readings[0].payload.raw_hex == first_bp.hex()
    assert readings[0].payload.device_time == now - timedelta(hours=2)
    assert values(readings[1])[MeasurementCode.SYSTOLIC] == (184, "mm[Hg]")
    assert values(readings[1])[MeasurementCode.DIASTOLIC] == (122, "mm[Hg]")
    assert values(readings[1])[MeasurementCode.PULSE] == (97, "/min")

    glucose = vitals_from(server, meter.address)
    assert [values(e)[MeasurementCode.GLUCOSE] for e in glucose] == [
        (112, "mg/dL"),
        (145, "mg/dL"),
    ]
    assert [e.payload.sequence_number for e in glucose] == [1, 3]  # 2 was control solution
    assert glucose[1].payload.flags["meal"] == "postprandial"

    statuses = [e for e in stored(server) if isinstance(e, DeviceStatusEvent)]
    pairing = [s for s in statuses if s.payload.status == DeviceStatus.PAIRING_REQUIRED]
    assert [s.device for s in pairing] == [unpaired.address]
    assert f"bluetoothctl pair {unpaired.address}" in (pairing[0].payload.detail or "")
    assert any(
        s.device == bp.address and s.payload.status == DeviceStatus.UNREACHABLE for s in statuses
    )
    assert unpaired.stored  # nothing lost: the unpaired cuff keeps its reading
    beats = heartbeats(server)
    assert all(b.device == "hub-e2e" and b.payload.adapter_ok for b in beats)
    assert max(b.payload.outbox_depth for b in beats) >= 1  # queued while the server was away
    assert sum(server.store.deliveries.values()) >= len(server.store.order)


async def _queued(agent: Agent, *, urgent: int, total: int) -> bool:
    return await agent.outbox.urgent_depth() >= urgent and await agent.outbox.depth() >= total


async def test_without_a_bluetooth_adapter_the_hub_says_so_and_the_wired_button_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Wherever this runs, BlueZ is out of reach: the system bus points nowhere.
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={tmp_path / 'no-such-bus'}")
    presses = tmp_path / "button.lines"
    presses.write_text("long\n")
    server = FakeWsServer()
    await server.start()
    config = hub_config(
        server,
        tmp_path / "state",
        [
            {"name": "bp", "kind": "bp", "address": "A4:C1:38:00:11:22"},
            {"name": "wired", "kind": "local_button", "source": str(presses)},
        ],
    )
    try:
        async with running(Agent(config, adapter_retry_s=0.2)):
            await wait_until_async(
                lambda: (
                    len(panics(server)) == 1
                    and not all(b.payload.adapter_ok for b in heartbeats(server))
                ),
                within=10,
            )
    finally:
        await server.stop()
    assert panics(server)[0].device == "wired"
    beat = next(b for b in heartbeats(server) if not b.payload.adapter_ok)
    devices = {d.device: d for d in beat.payload.devices}
    assert not devices["A4:C1:38:00:11:22"].reachable
    assert "D-Bus" in (devices["A4:C1:38:00:11:22"].problem or "")
    missing = [
        e
        for e in stored(server)
        if isinstance(e, DeviceStatusEvent) and e.payload.status == DeviceStatus.ADAPTER_MISSING
    ]
    assert len(missing) == 1  # said once, not on every retry
    assert missing[0].device == "hub-e2e"


def test_scan_without_an_adapter_prints_a_sentence_not_a_traceback(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={tmp_path / 'no-such-bus'}",
    }
    done = subprocess.run(
        [sys.executable, "-m", "device_agent.cli", "scan", "--timeout", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == cli.EXIT_NO_ADAPTER
    assert "Traceback" not in done.stderr
    assert "cannot scan: no Bluetooth stack on this machine" in done.stderr
    assert done.stdout == ""


def test_scan_of_the_simulated_home_lists_each_device_and_its_driver(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["scan", "--simulated", "--timeout", "1", "--toml"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line[:3] == "C1:"}
    assert {address: row[3] for address, row in rows.items()} == {
        "C1:B0:0D:00:00:01": "blood_pressure",
        "C1:B0:0D:00:00:02": "plx_oximeter",
        "C1:B0:0D:00:00:03": "glucose",
        "C1:B0:0D:00:00:04": "berrymed_oximeter",
        "C1:B0:0D:00:00:05": "bthome_button",
        "C1:B0:0D:00:00:06": "itag_button",
    }
    assert all(int(row[1]) < 0 for row in rows.values())  # RSSI in dBm
    assert rows["C1:B0:0D:00:00:01"][2] == "BP-Sim"
    # The entries it prints are a valid configuration.
    entries = out[out.index("[[devices]]") :]
    config = parse_config({"server_url": "http://x", "token": TOKEN, **tomllib.loads(entries)})
    assert {d.address for d in config.ble_devices} == set(rows)


def demo_readings_arrived(server: FakeWsServer) -> bool:
    """The demo home's cuff reading and both real glucose samples, via the drivers."""
    return (
        len(vitals_from(server, "C1:B0:0D:00:00:01")) == 1
        and len(vitals_from(server, "C1:B0:0D:00:00:03")) == 2
    )


async def _stopped(process: asyncio.subprocess.Process) -> tuple[bytes, bytes]:
    """Its output once it has exited; killed if it outlives its own stop deadline."""
    try:
        return await asyncio.wait_for(process.communicate(), 30)
    except TimeoutError:
        process.kill()
        return await process.communicate()


@pytest.mark.slow
async def test_simulate_ble_and_run_with_simulate_ble_drive_the_real_drivers(
    tmp_path: Path,
) -> None:
    by_flag, by_config = FakeWsServer(), FakeWsServer()
    await by_flag.start()
    await by_config.start()
    (tmp_path / "agent.toml").write_text(
        f'server_url = "{by_config.url}"\n'
        f'token = "{TOKEN}"\n'
        f'outbox_path = "{tmp_path / "run" / "outbox.sqlite3"}"\n'
        "heartbeat_interval_s = 1\n"
        "[simulate]\n"
        "ble = true\n"
    )
    common = {"cwd": ROOT, "env": {**os.environ, "PYTHONPATH": str(ROOT)}}
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "device_agent.cli",
            "simulate",
            "--ble",
            "--server",
            by_flag.url,
            "--token",
            TOKEN,
            "--state-dir",
            str(tmp_path / "sim"),
            "--heartbeat-interval",
            "1",
            stderr=asyncio.subprocess.PIPE,
            **common,  # type: ignore[arg-type]
        ),
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "device_agent.cli",
            "run",
            "--config",
            str(tmp_path / "agent.toml"),
            stderr=asyncio.subprocess.PIPE,
            **common,  # type: ignore[arg-type]
        ),
    ]
    try:
        for server in (by_flag, by_config):
            await wait_until_async(lambda server=server: demo_readings_arrived(server), within=60)
    finally:
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        results = [await _stopped(p) for p in processes]
        await by_flag.stop()
        await by_config.stop()
    for process, (_, stderr) in zip(processes, results, strict=True):
        assert process.returncode == 0, stderr.decode()[-2000:]
    for server in (by_flag, by_config):
        (bp,) = vitals_from(server, "C1:B0:0D:00:00:01")
        assert values(bp)[MeasurementCode.SYSTOLIC] == (138, "mm[Hg]")
        glucose = vitals_from(server, "C1:B0:0D:00:00:03")
        assert [values(e)[MeasurementCode.GLUCOSE][0] for e in glucose] == [112, 145]
        devices = latest_health(server)
        assert {"C1:B0:0D:00:00:01", "C1:B0:0D:00:00:05"} <= set(devices)


def test_outbox_command_reads_the_depth_of_a_hub(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config_path = tmp_path / "agent.toml"
    config_path.write_text(
        f'server_url = "http://127.0.0.1:9"\ntoken = "{TOKEN}"\n'
        f'outbox_path = "{tmp_path / "hub" / "outbox.sqlite3"}"\n'
    )
    assert cli.main(["outbox", "--config", str(config_path)]) == 0
    assert "no outbox yet" in capsys.readouterr().out

    async def fill() -> None:
        outbox = Outbox(tmp_path / "hub" / "outbox.sqlite3")
        try:
            button = LocalButton(sink=outbox, device="wired")
            await button.feed("long")
            await button.feed("long")
        finally:
            await outbox.close()

    asyncio.run(fill())
    assert cli.main(["outbox", "--config", str(config_path)]) == 0
    out = capsys.readouterr().out
    assert "waiting to be sent: 2 event(s), of which urgent (panic, fall): 2" in out
    assert "refused by the server (kept, never re-sent): 0" in out
