"""Simulated pulse oximeters: the standard PLX service (0x1822, spot-check indications) and a
BerryMed-style vendor "transparent UART" device streaming 5-byte frames.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bumble.core import UUID
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, Service

from device_agent.gatt import pulse_oximeter
from device_agent.gatt.vendor import berrymed
from device_agent.sim.peripheral import (
    SimulatedPeripheral,
    indications_enabled,
    notifications_enabled,
    uuid16,
)

logger = logging.getLogger(__name__)


class SimulatedPlxOximeter(SimulatedPeripheral):
    """Indicates stored spot-check readings on 0x2A5E once a client subscribes."""

    service_uuids = (uuid16(pulse_oximeter.SERVICE_UUID),)

    def __init__(
        self,
        *,
        address: str = "C1:B0:0D:00:00:02",
        name: str = "PLX-Sim",
        battery: int | None = 60,
    ) -> None:
        super().__init__(address=address, name=name, battery=battery)
        self.stored: list[bytes] = []
        self._spot: Characteristic[bytes] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def add_reading(
        self, *, spo2: float, pulse_rate: float, timestamp: datetime | None = None, **fields: Any
    ) -> bytes:
        value = pulse_oximeter.encode_spot_check(
            spo2=spo2, pulse_rate=pulse_rate, timestamp=timestamp, **fields
        )
        self.stored.append(value)
        for connection in list(self.connections):
            self._start_sending(connection)
        return value

    def build_services(self, device: Device) -> list[Service]:
        self._spot = Characteristic(
            uuid16(pulse_oximeter.SPOT_CHECK_UUID),
            Characteristic.Properties.INDICATE,
            Characteristic.READABLE,
            b"",
        )
        features: Characteristic[bytes] = Characteristic(
            uuid16(pulse_oximeter.FEATURES_UUID),
            Characteristic.Properties.READ,
            Characteristic.READABLE,
            bytes([0x00, 0x00]),
        )
        device.on("characteristic_subscription", self._on_subscription)
        return [Service(uuid16(pulse_oximeter.SERVICE_UUID), [self._spot, features])]

    def _on_subscription(
        self, connection: Connection, characteristic: Any, _notify: bool, indicate: bool
    ) -> None:
        if characteristic is self._spot and indicate:
            self._start_sending(connection)

    def _start_sending(self, connection: Connection) -> None:
        task = asyncio.create_task(self._send_stored(connection))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_stored(self, connection: Connection) -> None:
        device = self._require_device()
        assert self._spot is not None
        while self.stored and indications_enabled(device, connection, self._spot):
            value = self.stored.pop(0)
            try:
                await device.indicate_subscriber(connection, self._spot, value)
            except Exception:
                self.stored.insert(0, value)
                logger.debug("indication failed", exc_info=True)
                return


class SimulatedBerryMedOximeter(SimulatedPeripheral):
    """Streams ``frames`` (looping) on the vendor notify characteristic while subscribed.

    Notifications carry ``chunk`` bytes each, so frames straddle notifications as on the
    real device.
    """

    service_uuids = (UUID(berrymed.SERVICE_UUID),)

    def __init__(
        self,
        *,
        address: str = "C1:B0:0D:00:00:04",
        name: str = "BerryMed",
        frames: Sequence[bytes] = (),
        frame_interval: float = 0.01,
        chunk: int = 7,
        battery: int | None = None,
    ) -> None:
        super().__init__(address=address, name=name, battery=battery)
        self.frames = list(frames) or [berrymed.encode_frame(spo2=97, pulse_rate=72)]
        self.frame_interval = frame_interval
        self.chunk = chunk
        self.sent_frames = 0
        self._notify: Characteristic[bytes] | None = None
        self._streams: dict[Connection, asyncio.Task[None]] = {}

    def advertising_data(self) -> bytes:
        # Name plus the 128-bit vendor UUID fill the 31-byte advert; flags are left out.
        from bumble.core import AdvertisingData

        return bytes(
            AdvertisingData(
                [
                    (AdvertisingData.Type.SHORTENED_LOCAL_NAME, self.name.encode()[:8]),
                    (
                        AdvertisingData.Type.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                        bytes(UUID(berrymed.SERVICE_UUID)),
                    ),
                ]
            )
        )

    def build_services(self, device: Device) -> list[Service]:
        self._notify = Characteristic(
            UUID(berrymed.NOTIFY_CHARACTERISTIC_UUID),
            Characteristic.Properties.NOTIFY,
            Characteristic.READABLE,
            b"",
        )
        write: Characteristic[bytes] = Characteristic(
            UUID(berrymed.WRITE_CHARACTERISTIC_UUID),
            Characteristic.Properties.WRITE | Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
            Characteristic.WRITEABLE,
            b"",
        )
        device.on("characteristic_subscription", self._on_subscription)
        return [Service(UUID(berrymed.SERVICE_UUID), [self._notify, write])]

    def _on_subscription(
        self, connection: Connection, characteristic: Any, notify: bool, _indicate: bool
    ) -> None:
        if characteristic is not self._notify:
            return
        running = self._streams.get(connection)
        if notify and (running is None or running.done()):
            self._streams[connection] = asyncio.create_task(self._stream(connection))
        elif not notify and running is not None:
            running.cancel()

    async def _stream(self, connection: Connection) -> None:
        device = self._require_device()
        assert self._notify is not None
        buffer = b""
        index = 0
        while connection in self.connections and notifications_enabled(
            device, connection, self._notify
        ):
            buffer += self.frames[index % len(self.frames)]
            index += 1
            self.sent_frames += 1
            while len(buffer) >= self.chunk:
                await device.notify_subscriber(connection, self._notify, buffer[: self.chunk])
                buffer = buffer[self.chunk :]
            await asyncio.sleep(self.frame_interval)

    def on_disconnection(self, connection: Connection) -> None:
        task = self._streams.pop(connection, None)
        if task is not None:
            task.cancel()
