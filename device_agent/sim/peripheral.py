"""A simulated BLE peripheral: a bumble device with its own virtual controller on a shared
``LocalLink``, advertising a name and its service UUIDs, serving GATT like the real thing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bumble import att, hci
from bumble.controller import Controller
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device
from bumble.gatt import (
    GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR,
    Characteristic,
    Descriptor,
    Service,
)
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

logger = logging.getLogger(__name__)

BATTERY_SERVICE = 0x180F
BATTERY_LEVEL = 0x2A19
# Short, so a scan finds every simulated device within a fraction of a second.
ADVERTISING_INTERVAL_MS = 100


def uuid16(value: int) -> UUID:
    return UUID.from_16_bits(value)


class SimulatedPeripheral:
    """Base class: subclasses add services in ``build_services`` and may override adverts.

    The address stays a random static one: on bumble's LocalLink, GATT traffic to a
    peripheral using a public address goes unanswered.
    """

    service_uuids: tuple[UUID, ...] = ()

    def __init__(self, *, address: str, name: str, battery: int | None = 90) -> None:
        self.address = address.upper()
        self.name = name
        self.battery = battery
        self.link: LocalLink | None = None
        self.device: Device | None = None
        self.connections: list[Connection] = []
        # Every connection a hub ever made, so a test can wait for the next session.
        self.connection_count = 0
        self._battery_char: Characteristic[bytes] | None = None

    # Lifecycle

    async def attach(self, link: LocalLink) -> None:
        """Join ``link``, serve GATT and start advertising."""
        controller = Controller(self.name, link=link)
        device = Device(
            name=self.name,
            address=hci.Address(self.address, hci.Address.RANDOM_DEVICE_ADDRESS),
            host=Host(controller, AsyncPipeSink(controller)),
        )
        self.link = link
        self.device = device
        services = self.build_services(device)
        if self.battery is not None:
            self._battery_char = Characteristic(
                uuid16(BATTERY_LEVEL),
                Characteristic.Properties.READ | Characteristic.Properties.NOTIFY,
                Characteristic.READABLE,
                att.AttributeValue(read=lambda _conn: bytes([self.battery or 0])),
            )
            services.append(Service(uuid16(BATTERY_SERVICE), [self._battery_char]))
        device.add_services(services)
        device.on(device.EVENT_CONNECTION, self._on_connection)
        await device.power_on()
        await self.start_advertising()

    async def start_advertising(self) -> None:
        device = self._require_device()
        await device.start_advertising(
            advertising_data=self.advertising_data(),
            advertising_interval_min=ADVERTISING_INTERVAL_MS,
            advertising_interval_max=ADVERTISING_INTERVAL_MS,
            auto_restart=True,
        )

    async def stop_advertising(self) -> None:
        await self._require_device().stop_advertising()

    async def go_out_of_range(self) -> None:
        """Drop every link and fall silent, as a device carried out of the house does."""
        await self.stop_advertising()
        for connection in list(self.connections):
            try:
                async with asyncio.timeout(2.0):
                    await connection.disconnect()
            except Exception:  # the link may already be gone
                logger.debug("disconnect failed", exc_info=True)

    async def come_back(self) -> None:
        await self.start_advertising()

    async def close(self) -> None:
        if self.device is not None:
            await self.go_out_of_range()

    def _on_connection(self, connection: Connection) -> None:
        self.connections.append(connection)
        self.connection_count += 1
        connection.on(connection.EVENT_DISCONNECTION, lambda _reason: self._forget(connection))
        self.on_connection(connection)

    def _forget(self, connection: Connection) -> None:
        if connection in self.connections:
            self.connections.remove(connection)
        self.on_disconnection(connection)

    # For subclasses

    def build_services(self, device: Device) -> list[Service]:
        return []

    def on_connection(self, connection: Connection) -> None:
        pass

    def on_disconnection(self, connection: Connection) -> None:
        pass

    def advertising_data(self) -> bytes:
        structures: list[tuple[int, bytes]] = [
            (AdvertisingData.Type.FLAGS, bytes([0x06])),
            (AdvertisingData.Type.COMPLETE_LOCAL_NAME, self.name.encode()),
        ]
        sixteen = b"".join(bytes(u) for u in self.service_uuids if len(bytes(u)) == 2)
        if sixteen:
            structures.append(
                (AdvertisingData.Type.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, sixteen)
            )
        wide = b"".join(bytes(u) for u in self.service_uuids if len(bytes(u)) == 16)
        if wide:
            structures.append(
                (AdvertisingData.Type.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS, wide)
            )
        return bytes(AdvertisingData(structures))

    def _require_device(self) -> Device:
        if self.device is None:
            raise RuntimeError(f"{self.name} is not attached to a link yet")
        return self.device

    async def set_battery(self, level: int) -> None:
        self.battery = level
        if self._battery_char is not None and self.device is not None:
            await self.device.notify_subscribers(self._battery_char, bytes([level]))


def guarded_cccd(
    device: Device,
    characteristic: Characteristic[bytes],
    allowed: Callable[[Connection], bool],
) -> Descriptor:
    """A CCCD that refuses subscriptions with "insufficient authentication" unless allowed.

    Real bonded-only devices (BP cuffs, glucose meters) answer an unbonded CCCD write this
    way; the gatt server's stock CCCD would accept anyone.
    """
    server = device.gatt_server

    def read(bearer: att.Bearer) -> bytes:
        return server.read_cccd(bearer, characteristic)

    def write(bearer: att.Bearer, value: bytes) -> None:
        connection = bearer if isinstance(bearer, Connection) else bearer.connection
        if not allowed(connection):
            raise att.ATT_Error(att.ErrorCode.INSUFFICIENT_AUTHENTICATION)
        server.write_cccd(bearer, characteristic, value)

    return Descriptor(
        GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR,
        att.Attribute.READABLE | att.Attribute.WRITEABLE,
        att.AttributeValueV2(read, write=write),
    )


def indications_enabled(
    device: Device, connection: Connection, characteristic: Characteristic[bytes]
) -> bool:
    cccd = device.gatt_server.subscribers.get(connection, {}).get(characteristic.handle, b"\0")
    return bool(cccd[0] & 0x02)


def notifications_enabled(
    device: Device, connection: Connection, characteristic: Characteristic[bytes]
) -> bool:
    cccd = device.gatt_server.subscribers.get(connection, {}).get(characteristic.handle, b"\0")
    return bool(cccd[0] & 0x01)


async def yield_to_link() -> None:
    """Let queued link traffic run (the LocalLink delivers with call_soon)."""
    for _ in range(3):
        await asyncio.sleep(0)
