"""``run_devices``: one supervised task per configured BLE device.

A driver that crashes is logged, reported as an ``error`` status and restarted after a
pause; no device's trouble ever stops another's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

from device_agent.ble.drivers.base import Driver, DriverContext, Timing
from device_agent.ble.registry import NoDriver, driver_for
from device_agent.ble.state import BleState
from device_agent.ble.types import (
    PLATFORM_BACKEND,
    BleBackend,
    BleDeviceSpec,
    HealthReporter,
)
from device_agent.sink import EventSink
from eldercare_protocol import DeviceStatus

logger = logging.getLogger(__name__)

CRASH_PAUSE = 10.0


async def supervise(driver: Driver, *, crash_pause: float = CRASH_PAUSE) -> None:
    while True:
        try:
            await driver.run()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            logger.exception("driver %s for %s crashed; restarting", driver.name, driver.spec.name)
            driver.ctx.health.update(
                driver.device_id, reachable=False, problem=f"driver crashed: {exc}"[:200]
            )
            try:
                await driver.set_status(DeviceStatus.ERROR, f"driver {driver.name} crashed: {exc}")
            except Exception:
                logger.exception("could not report the crash of %s", driver.spec.name)
            await asyncio.sleep(crash_pause)


async def run_devices(
    devices: Sequence[BleDeviceSpec],
    sink: EventSink,
    *,
    health: HealthReporter,
    backend: BleBackend | None = None,
    state_path: str | Path | None = None,
    timing: Timing | None = None,
) -> None:
    """Run every BLE device's driver until cancelled."""
    if state_path is None:
        logger.warning("no BLE state file given: glucose sequence numbers are kept in memory only")
    state = BleState(state_path or ":memory:")
    ctx = DriverContext(
        sink=sink,
        health=health,
        backend=backend or PLATFORM_BACKEND,
        state=state,
        timing=timing or Timing(),
    )
    drivers: list[Driver] = []
    for spec in devices:
        try:
            drivers.append(driver_for(spec).factory(spec, ctx))
        except NoDriver as exc:
            logger.error("%s", exc)
            health.update(spec.device_id, reachable=False, problem=str(exc)[:200])
    try:
        async with asyncio.TaskGroup() as group:
            for driver in drivers:
                group.create_task(supervise(driver), name=f"ble:{driver.spec.name}")
            if not drivers:
                await asyncio.Event().wait()
    finally:
        state.close()
