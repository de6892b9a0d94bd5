"""A simulated home: one LocalLink, the hub's radio and a chosen set of peripherals.

async with SimulatedHome([SimulatedBloodPressureMonitor(), ...]) as home:
    results = await scan(timeout=1.0, backend=home.backend)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self

from bumble.link import LocalLink

from device_agent.ble.bumble_backend import BumbleRadio
from device_agent.ble.types import BleBackend
from device_agent.sim.blood_pressure import SimulatedBloodPressureMonitor
from device_agent.sim.buttons import SimulatedBthomeButton, SimulatedItagButton
from device_agent.sim.glucose import SimulatedGlucoseMeter
from device_agent.sim.oximeter import SimulatedBerryMedOximeter, SimulatedPlxOximeter
from device_agent.sim.peripheral import SimulatedPeripheral


class SimulatedHome:
    def __init__(self, peripherals: Sequence[SimulatedPeripheral] = ()) -> None:
        self.link = LocalLink()  # type: ignore[no-untyped-call]
        self.radio = BumbleRadio(self.link)
        self.peripherals = list(peripherals)
        self._started = False

    @property
    def backend(self) -> BleBackend:
        return self.radio.backend()

    async def start(self) -> None:
        await self.radio.power_on()
        for peripheral in self.peripherals:
            await peripheral.attach(self.link)
        self._started = True

    async def add(self, peripheral: SimulatedPeripheral) -> None:
        self.peripherals.append(peripheral)
        if self._started:
            await peripheral.attach(self.link)

    async def close(self) -> None:
        await self.radio.close()
        for peripheral in self.peripherals:
            await peripheral.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


def demo_home(*, now: datetime | None = None) -> SimulatedHome:
    """A home with one of everything and a few stored readings (for demos and the CLI)."""
    now = (now or datetime.now(UTC)).replace(tzinfo=None, microsecond=0)
    bp = SimulatedBloodPressureMonitor()
    bp.add_reading(systolic=138, diastolic=88, pulse_rate=72, timestamp=now - timedelta(hours=2))
    plx = SimulatedPlxOximeter()
    plx.add_reading(spo2=96, pulse_rate=70, timestamp=now - timedelta(minutes=30))
    meter = SimulatedGlucoseMeter()
    meter.add_record(mg_dl=112, base_time=now - timedelta(hours=5))
    meter.add_record(mg_dl=100, base_time=now - timedelta(hours=4), control_solution=True)
    meter.add_record(mg_dl=145, base_time=now - timedelta(hours=1), meal=2)
    return SimulatedHome(
        [
            bp,
            plx,
            meter,
            SimulatedBerryMedOximeter(),
            SimulatedBthomeButton(),
            SimulatedItagButton(),
        ]
    )
