"""Simulated hubs: realistic vitals, panic presses and heartbeats, through the real pipeline.

No radio: each simulated hub has its own SQLite outbox and its own uplink connection, exactly
as a real hub does, and its devices produce events at the event level (blood pressure, SpO2,
glucose), with an occasional abnormal reading and the odd device whose clock was never set.
For demos and load.

``run_simulated_ble_hub`` is the other simulation: one hub whose devices are simulated BLE
peripherals on a simulated radio, read by the real drivers (``simulate --ble``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO
from uuid import uuid4

from device_agent.clock import DEFAULT_DEVICE_TZ, utc_now, vitals_event
from device_agent.config import AgentConfig, BleDeviceSpec, DeviceKind, UplinkConfig
from device_agent.health import HubHealth, heartbeat_loop
from device_agent.outbox import Outbox, StorageFull
from device_agent.uplink import Uplink, UplinkAuthError
from eldercare_protocol import (
    Event,
    Measurement,
    MeasurementCode,
    PanicEvent,
    PanicPayload,
    PressType,
    VitalsEvent,
)

if TYPE_CHECKING:
    from device_agent.ble import BleBackend, Timing
    from device_agent.sim import SimulatedBthomeButton, SimulatedHome

log = logging.getLogger(__name__)

KINDS = ("bp", "oximeter", "glucose")
# A device clock never set since the battery went in: it starts in 2000.
UNSET_CLOCK_FRACTION = 0.03


def _m(code: MeasurementCode, value: float, unit: str) -> Measurement:
    return Measurement(code=code, value=round(value, 1), unit=unit)


def simulated_measurements(
    kind: str, rng: random.Random, *, abnormal: bool
) -> tuple[list[Measurement], dict[str, bool | int | str]]:
    """Plausible readings for an older adult; ``abnormal`` picks a value triage should flag."""
    if kind == "bp":
        if abnormal:
            systolic, diastolic = rng.choice(
                [(rng.gauss(188, 6), rng.gauss(112, 6)), (rng.gauss(86, 4), rng.gauss(52, 4))]
            )
        else:
            systolic, diastolic = rng.gauss(132, 12), rng.gauss(80, 8)
        pulse = rng.gauss(74, 9)
        mean = diastolic + (systolic - diastolic) / 3
        flags: dict[str, bool | int | str] = {"irregular_pulse": rng.random() < 0.04}
        return [
            _m(MeasurementCode.SYSTOLIC, round(systolic), "mm[Hg]"),
            _m(MeasurementCode.DIASTOLIC, round(diastolic), "mm[Hg]"),
            _m(MeasurementCode.MEAN_ARTERIAL_PRESSURE, round(mean), "mm[Hg]"),
            _m(MeasurementCode.PULSE, round(pulse), "/min"),
        ], flags
    if kind == "oximeter":
        spo2 = rng.uniform(84, 90) if abnormal else min(100.0, rng.gauss(96.5, 1.2))
        return [
            _m(MeasurementCode.SPO2, round(spo2), "%"),
            _m(MeasurementCode.PULSE, round(rng.gauss(76, 10)), "/min"),
        ], {}
    if kind == "glucose":
        if abnormal:
            value = rng.choice([rng.uniform(40, 62), rng.uniform(280, 360)])
        else:
            value = rng.gauss(118, 22)
        return [_m(MeasurementCode.GLUCOSE, round(value), "mg/dL")], {"meal": "fasting"}
    raise ValueError(f"unknown simulated device kind {kind!r}")


def simulated_reading(
    *, device: str, kind: str, rng: random.Random, abnormal_fraction: float, clock_unset: bool
) -> VitalsEvent:
    measurements, flags = simulated_measurements(
        kind, rng, abnormal=rng.random() < abnormal_fraction
    )
    received = utc_now()
    local = received.astimezone(DEFAULT_DEVICE_TZ).replace(tzinfo=None)
    if clock_unset:
        device_time = datetime(2000, 1, 1) + timedelta(seconds=rng.randrange(86_400))
    else:
        device_time = local - timedelta(seconds=rng.uniform(0, 20))
    return vitals_event(
        device=device,
        measurements=measurements,
        received_at=received,
        device_time=device_time.replace(microsecond=0),
        flags=flags,
    )


@dataclass
class SimulationOptions:
    server_url: str
    tokens: list[str]
    hubs: int = 1
    rate: float = 1.0  # readings per second per hub
    panic_every_s: float = 0.0  # per hub; 0 = never
    abnormal_fraction: float = 0.05
    heartbeat_interval_s: float = 30.0
    state_dir: Path = Path("var/simulate")
    count: int | None = None  # readings per hub, then stop producing
    exit_when_drained: bool = False
    # Set (e.g. on SIGUSR1): stop making events now, exit once every outbox is empty.
    drain: asyncio.Event | None = None
    id_log: Path | None = None
    seed: int | None = None
    uplink: UplinkConfig = field(default_factory=UplinkConfig)


class _Recorder:
    """A sink in front of the outbox that notes each stored id (for tests and demos).

    Two lines per event: ``? <id> <kind> <unix time>`` before the outbox is asked to store it
    and ``<id> <kind> <unix time>`` once it is stored. A process killed between the two leaves
    only the first: that event may or may not have been committed, and a check can tell
    "stored and then lost" (a bug) from "killed before it was stored" (no promise was made).
    """

    def __init__(self, outbox: Outbox, log_file: TextIO | None) -> None:
        self.outbox = outbox
        self.log_file = log_file
        self.emitted = 0

    async def emit(self, event: Event) -> None:
        if self.log_file is not None:
            self.log_file.write(f"? {event.id} {event.kind} {time.time():.3f}\n")
            self.log_file.flush()
        storing = asyncio.ensure_future(self.outbox.emit(event))
        try:
            await asyncio.shield(storing)
        except asyncio.CancelledError:
            # Stopped mid-store: the row is committed all the same, so say so before going.
            with contextlib.suppress(Exception):
                await storing
                self._stored(event)
            raise
        self._stored(event)

    def _stored(self, event: Event) -> None:
        self.emitted += 1
        if self.log_file is not None:
            self.log_file.write(f"{event.id} {event.kind} {time.time():.3f}\n")
            self.log_file.flush()


class SimulatedHub:
    def __init__(
        self, *, index: int, options: SimulationOptions, rng: random.Random, log_file: TextIO | None
    ) -> None:
        self.name = f"sim{index:04d}"
        self.options = options
        self.rng = rng
        self.outbox = Outbox(options.state_dir / f"{self.name}.sqlite3")
        self.sink = _Recorder(self.outbox, log_file)
        self.devices = {f"{self.name}-{kind}": kind for kind in KINDS}
        self.button = f"{self.name}-button"
        self.health = HubHealth(ble=[*self.devices, self.button])
        self.clock_unset = {name: rng.random() < UNSET_CLOCK_FRACTION for name in self.devices}
        token = options.tokens[index % len(options.tokens)]
        self.uplink = Uplink(
            outbox=self.outbox, server_url=options.server_url, token=token, settings=options.uplink
        )
        self.producing_done = asyncio.Event()

    async def produce_readings(self) -> None:
        options = self.options
        produced = 0
        try:
            while options.count is None or produced < options.count:
                if options.rate <= 0:
                    break
                await asyncio.sleep(self.rng.expovariate(options.rate))
                device = self.rng.choice(list(self.devices))
                event = simulated_reading(
                    device=device,
                    kind=self.devices[device],
                    rng=self.rng,
                    abnormal_fraction=options.abnormal_fraction,
                    clock_unset=self.clock_unset[device],
                )
                self.health.update(device, reachable=True, battery=self._battery())
                try:
                    await self.sink.emit(event)
                except StorageFull:  # disk full and memory too: this reading is dropped
                    log.warning("%s: disk full, reading %s dropped", self.name, event.id)
                    continue
                produced += 1
        finally:
            self.producing_done.set()

    def _battery(self) -> int:
        return max(5, 100 - int(self.rng.expovariate(1 / 15)))

    async def press_panics(self) -> None:
        if self.options.panic_every_s <= 0:
            return
        while True:
            await asyncio.sleep(self.rng.uniform(0.5, 1.5) * self.options.panic_every_s)
            await self.press()

    async def press(self) -> None:
        """A long press of the panic button, now."""
        event = PanicEvent(
            id=uuid4(),
            device=self.button,
            occurred_at=utc_now(),
            payload=PanicPayload(source="simulated", press=PressType.LONG),
        )
        self.health.update(self.button, reachable=True, battery=self._battery())
        await self.sink.emit(event)
        log.info("%s: panic %s pressed", self.name, event.id)

    async def heartbeats(self) -> None:
        await heartbeat_loop(
            sink=self.sink,
            interval_s=self.options.heartbeat_interval_s,
            outbox_depth=self.outbox.depth,
            health=self.health,
            hub_device=self.name,
            storage_problem=self.outbox.storage_state,
        )


async def run_simulation(
    options: SimulationOptions, *, on_started: Callable[[list[SimulatedHub]], None] | None = None
) -> None:
    """Run until cancelled (or, with ``exit_when_drained``, until every outbox is empty).

    Raises ``UplinkAuthError`` as soon as any hub's token is refused.
    """
    if not options.tokens:
        raise ValueError("at least one hub token is needed")
    options.state_dir.mkdir(parents=True, exist_ok=True)
    root = random.Random(options.seed)
    log_file = options.id_log.open("a", encoding="utf-8") if options.id_log else None
    hubs = [
        SimulatedHub(
            index=i, options=options, rng=random.Random(root.getrandbits(64)), log_file=log_file
        )
        for i in range(options.hubs)
    ]
    log.info("simulating %d hub(s) against %s", len(hubs), options.server_url)
    try:
        async with asyncio.TaskGroup() as group:
            producers: list[asyncio.Task[None]] = []
            readings: list[asyncio.Task[None]] = []
            for hub in hubs:
                group.create_task(hub.uplink.run(), name=f"{hub.name}-uplink")
                readings.append(
                    group.create_task(hub.produce_readings(), name=f"{hub.name}-readings")
                )
                producers.append(group.create_task(hub.press_panics(), name=f"{hub.name}-panics"))
                producers.append(group.create_task(hub.heartbeats(), name=f"{hub.name}-heartbeats"))
            if on_started is not None:
                on_started(hubs)
            if options.exit_when_drained or options.drain is not None:
                await _drain_when_asked(hubs, readings, options)
                await _wait_drained(hubs, producers)
                raise _Drained
    except* _Drained:
        log.info("all produced events acknowledged; %d in total", sum(h.sink.emitted for h in hubs))
    except* UplinkAuthError as group:
        raise group.exceptions[0] from None
    finally:
        for hub in hubs:
            await hub.outbox.close()
        if log_file is not None:
            log_file.close()


class _Drained(Exception):
    pass


async def _drain_when_asked(
    hubs: list[SimulatedHub], readings: list[asyncio.Task[None]], options: SimulationOptions
) -> None:
    """Until the readings are all made (``exit_when_drained``) or ``drain`` is set."""
    waits: list[asyncio.Future[object]] = []
    if options.exit_when_drained:
        waits.append(
            asyncio.ensure_future(asyncio.gather(*(h.producing_done.wait() for h in hubs)))
        )
    if options.drain is not None:
        waits.append(asyncio.ensure_future(options.drain.wait()))
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
    if options.drain is not None and options.drain.is_set():
        log.info("draining: no new events; exiting once every outbox is empty")
        for task in readings:
            task.cancel()


async def _wait_drained(hubs: list[SimulatedHub], producers: list[asyncio.Task[None]]) -> None:
    """Once the readings are made, stop the presses and heartbeats, then wait for every
    outbox to empty: "drained" must mean nothing was stored after the last look."""
    for hub in hubs:
        await hub.producing_done.wait()
    for task in producers:
        task.cancel()
    await asyncio.wait(producers)
    while True:
        depths = [await hub.outbox.depth() for hub in hubs]
        if not any(depths):
            return
        await asyncio.sleep(0.1)


# A simulated BLE hub: the real hub agent (drivers → outbox → uplink) whose radio is the
# simulated home's, for demos without hardware.

SIMULATED_SCAN_S = 1.5


async def simulated_devices(backend: BleBackend) -> list[BleDeviceSpec]:
    """A device entry for every simulated peripheral a driver takes, as an installer would
    write them after ``eldercare-agent scan``."""
    from device_agent.ble import scan

    devices: list[BleDeviceSpec] = []
    for result in await scan(timeout=SIMULATED_SCAN_S, backend=backend):
        if result.driver is None or result.kind is None:
            continue
        devices.append(
            BleDeviceSpec(
                name=(result.name or result.driver).lower(),
                kind=DeviceKind(result.kind),
                address=result.address,
                driver=result.driver,
            )
        )
    devices.sort(key=lambda d: d.name)
    return devices


async def run_simulated_ble_hub(
    config: AgentConfig,
    *,
    home: SimulatedHome | None = None,
    timing: Timing | None = None,
    panic_every_s: float = 0.0,
) -> None:
    """Run the hub agent against simulated BLE peripherals until cancelled.

    ``config.devices`` are used if it names any BLE device (their addresses must be the
    simulated ones); otherwise every peripheral of the home is configured. With
    ``panic_every_s`` the home's BTHome button is long-pressed every ~that many seconds.
    """
    from device_agent.runtime import Agent
    from device_agent.sim import SimulatedBthomeButton, demo_home

    home = home if home is not None else demo_home()
    async with home:
        if not config.ble_devices:
            found = await simulated_devices(home.backend)
            config = config.model_copy(update={"devices": [*config.devices, *found]})
        for device in config.ble_devices:
            log.info("simulated %s %s at %s", device.kind, device.name, device.address)
        agent = Agent(config, ble_backend=home.backend, ble_timing=timing)
        buttons = [p for p in home.peripherals if isinstance(p, SimulatedBthomeButton)]
        async with asyncio.TaskGroup() as group:
            group.create_task(agent.run(), name="agent")
            if panic_every_s > 0 and buttons:
                group.create_task(_press_now_and_then(buttons[0], panic_every_s), name="presses")


async def _press_now_and_then(button: SimulatedBthomeButton, every_s: float) -> None:
    from device_agent.gatt import bthome

    rng = random.Random()
    while True:
        await asyncio.sleep(rng.uniform(0.5, 1.5) * every_s)
        log.info("simulated button %s: long press", button.address)
        await button.press(bthome.ButtonEvent.LONG_PRESS)
