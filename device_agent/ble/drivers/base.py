"""What every driver shares: its context, event making, status reporting, and the connect /
session / back-off loop of drivers that hold a GATT connection."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypedDict
from uuid import UUID, uuid4

from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError, BleakGATTProtocolError, BleakGATTProtocolErrorCode
from bleak_retry_connector import establish_connection

from device_agent.ble.adverts import uuid16
from device_agent.ble.state import BleState
from device_agent.ble.types import BleBackend, BleDeviceSpec, HealthReporter, scanner_args
from device_agent.gatt import ParseError, battery
from device_agent.sink import EventSink
from eldercare_protocol import (
    BatteryEvent,
    BatteryPayload,
    DeviceStatus,
    DeviceStatusEvent,
    DeviceStatusPayload,
    Event,
)

logger = logging.getLogger("device_agent.ble")

PAIRING_CODES = frozenset(
    {
        BleakGATTProtocolErrorCode.INSUFFICIENT_AUTHENTICATION,
        BleakGATTProtocolErrorCode.INSUFFICIENT_ENCRYPTION,
    }
)


@dataclass(frozen=True)
class Timing:
    """How patient drivers are. Real-world defaults; tests shrink them."""

    scan_timeout: float = 10.0
    connect_timeout: float = 20.0
    retry_initial: float = 5.0
    retry_max: float = 300.0
    # After "pairing required" nothing changes until a person pairs the device.
    pairing_retry: float = 600.0
    # Between sessions of devices that hand over stored readings and hang up.
    poll_interval: float = 30.0
    # A reading session ends this long after the last reading.
    idle_timeout: float = 5.0
    # BerryMed-style streams: one reading per window.
    stream_window: float = 30.0


@dataclass(frozen=True)
class DriverContext:
    sink: EventSink
    health: HealthReporter
    backend: BleBackend
    state: BleState
    timing: Timing = Timing()


class EventFields(TypedDict):
    id: UUID
    device: str
    occurred_at: datetime


class DeviceUnreachable(Exception):
    pass


class PairingRequired(Exception):
    pass


def now() -> datetime:
    return datetime.now(UTC)


class SeenSet:
    """A bounded memory of keys already forwarded (duplicates within one run)."""

    def __init__(self, size: int = 256) -> None:
        self._items: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def add(self, key: str) -> bool:
        """True when ``key`` is new."""
        if key in self._items:
            return False
        self._items[key] = None
        if len(self._items) > self._size:
            self._items.popitem(last=False)
        return True


class Driver:
    """Base of every driver: ``run`` works until cancelled and survives device trouble."""

    name = "base"

    def __init__(self, spec: BleDeviceSpec, ctx: DriverContext) -> None:
        self.spec = spec
        self.ctx = ctx
        self.device_id = spec.device_id
        self._status: DeviceStatus | None = None
        self._battery: int | None = None
        self.log = logging.LoggerAdapter(logger, {"device": spec.name})

    async def run(self) -> None:
        raise NotImplementedError

    def event_fields(self) -> EventFields:
        return {"id": uuid4(), "device": self.device_id, "occurred_at": now()}

    async def emit(self, event: Event) -> None:
        await self.ctx.sink.emit(event)

    async def set_status(self, status: DeviceStatus, detail: str | None = None) -> None:
        """Report a status change once; the same status again is not news."""
        if status == self._status:
            return
        self._status = status
        await self.emit(
            DeviceStatusEvent(
                **self.event_fields(),
                payload=DeviceStatusPayload(status=status, detail=detail[:500] if detail else None),
            )
        )

    async def report_battery(self, level: int, *, problem: str | None = None) -> None:
        self.ctx.health.update(self.device_id, reachable=True, battery=level, problem=problem)
        if level != self._battery:
            self._battery = level
            await self.emit(
                BatteryEvent(**self.event_fields(), payload=BatteryPayload(level=level))
            )


class StreamConsumer:
    """Hands notification values to an async handler in order, one at a time.

    Notification callbacks are synchronous; events must be awaited into the sink.
    """

    def __init__(self, handler: Callable[[bytes], Awaitable[None]]) -> None:
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._handler = handler
        self.activity = asyncio.Event()
        self._task = asyncio.create_task(self._run())

    def __call__(self, _characteristic: object, data: bytearray) -> None:
        self._queue.put_nowait(bytes(data))
        self.activity.set()

    async def _run(self) -> None:
        while True:
            data = await self._queue.get()
            try:
                await self._handler(data)
            except Exception:
                logger.exception("handling a notification failed")
            finally:
                self._queue.task_done()

    async def drain_and_stop(self) -> None:
        await self._queue.join()
        self._task.cancel()


class ConnectedDriver(Driver):
    """Find → connect (bleak-retry-connector) → session → disconnect, forever.

    Out of range: health ``reachable=False`` and exponential back-off. Pairing needed: one
    ``pairing_required`` status with instructions, then a long wait, never a tight loop.
    """

    async def session(self, client: BleakClient) -> None:
        raise NotImplementedError

    async def run(self) -> None:
        timing = self.ctx.timing
        backoff = timing.retry_initial
        while True:
            try:
                await self._one_session()
            except PairingRequired as exc:
                await self._pairing_required(str(exc))
                await asyncio.sleep(timing.pairing_retry)
                continue
            except (BleakError, TimeoutError, DeviceUnreachable, EOFError) as exc:
                problem = str(exc) or type(exc).__name__
                self.log.info(
                    "%s unreachable (%s); retrying in %.0f s", self.spec.name, problem, backoff
                )
                self.ctx.health.update(self.device_id, reachable=False, problem=problem[:200])
                await self.set_status(DeviceStatus.UNREACHABLE, problem)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, timing.retry_max)
                continue
            backoff = timing.retry_initial
            await asyncio.sleep(timing.poll_interval)

    async def _find(self) -> BLEDevice:
        device = await BleakScanner.find_device_by_address(
            self.spec.address,
            timeout=self.ctx.timing.scan_timeout,
            **scanner_args(self.ctx.backend),
        )
        if device is None:
            raise DeviceUnreachable(f"{self.spec.address} not heard within the scan")
        return device

    async def _one_session(self) -> None:
        device = await self._find()
        disconnected = asyncio.Event()
        client = await establish_connection(
            BleakClient,
            device,
            self.spec.name,
            disconnected_callback=lambda _client: disconnected.set(),
            max_attempts=2,
            backend=self.ctx.backend.client,
            timeout=self.ctx.timing.connect_timeout,
        )
        self.disconnected = disconnected
        try:
            self.ctx.health.update(self.device_id, reachable=True)
            await self.set_status(DeviceStatus.CONNECTED)
            await self._read_battery(client)
            try:
                await self.session(client)
            except BleakGATTProtocolError as exc:
                if exc.code in PAIRING_CODES:
                    raise PairingRequired(
                        f"{self.spec.name} ({self.spec.address}) refused access: "
                        f"{exc.code.name.lower()} (ATT 0x{int(exc.code):02X})"
                    ) from exc
                raise
        finally:
            try:
                await client.disconnect()
            except BleakError:
                self.log.debug("disconnect failed", exc_info=True)

    async def _read_battery(self, client: BleakClient) -> None:
        characteristic = client.services.get_characteristic(uuid16(battery.LEVEL_UUID))
        if characteristic is None or "read" not in characteristic.properties:
            return
        try:
            level = battery.parse_level(await client.read_gatt_char(characteristic))
        except ParseError as exc:
            self.log.warning("%s sent a bad battery level: %s", self.spec.name, exc)
            return
        except BleakGATTProtocolError:
            return  # some devices guard it behind bonding; the session will say so
        await self.report_battery(level)

    async def _pairing_required(self, reason: str) -> None:
        instructions = (
            f"{reason}. The device must be paired (bonded) with this hub once. "
            f"Put the device in pairing mode (usually hold its Bluetooth/start button until "
            f"the symbol blinks), then on the hub run: bluetoothctl pair {self.spec.address} "
            f"(and bluetoothctl trust {self.spec.address}). The hub retries every "
            f"{self.ctx.timing.pairing_retry:.0f} s."
        )
        self.log.warning("PAIRING REQUIRED: %s", instructions)
        self.ctx.health.update(self.device_id, reachable=True, problem="pairing required")
        await self.set_status(DeviceStatus.PAIRING_REQUIRED, instructions)

    async def wait_idle(self, activity: asyncio.Event) -> None:
        """Return once no activity came for ``idle_timeout``, or the link dropped."""
        while not self.disconnected.is_set():
            activity.clear()
            try:
                async with asyncio.timeout(self.ctx.timing.idle_timeout):
                    await activity.wait()
            except TimeoutError:
                return
