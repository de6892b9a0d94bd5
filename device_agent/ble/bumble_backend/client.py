"""bleak client backend over a :class:`BumbleRadio`.

ATT errors become ``BleakGATTProtocolError`` with the ATT code, as bleak's own backends
report them, so drivers see "insufficient authentication" (0x05) exactly as on BlueZ.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from bleak.args import SizedBuffer
from bleak.assigned_numbers import CHARACTERISTIC_PROPERTIES, CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble import att, core
from bumble.device import Connection, Peer
from bumble.gatt_client import CharacteristicProxy, ServiceProxy

from device_agent.ble.bumble_backend.scanner import bleak_uuid

if TYPE_CHECKING:
    from device_agent.ble.bumble_backend.radio import BumbleRadio

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
_ATT_MTU_DEFAULT = 23
DISCONNECT_TIMEOUT = 2.0


async def _translated(operation: Awaitable[_T]) -> _T:
    """Run one GATT request, translating bumble's errors into bleak's."""
    try:
        return await operation
    except att.ATT_Error as exc:
        raise BleakGATTProtocolError(int(exc.error_code)) from exc
    except core.TimeoutError as exc:
        raise TimeoutError(str(exc) or "GATT request timed out") from exc
    except core.BaseBumbleError as exc:
        raise BleakError(f"GATT request failed: {exc}") from exc


def _properties(bits: int) -> list[CharacteristicPropertyName]:
    return [name for bit, name in CHARACTERISTIC_PROPERTIES.items() if bits & bit]


class BumbleClient(BaseBleakClient):
    """Client half of the bumble backend; use ``BumbleRadio.backend().client``."""

    _radio: ClassVar[BumbleRadio]

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None,
        timeout: float,
        services: set[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        self._device_name = (
            address_or_ble_device.name if isinstance(address_or_ble_device, BLEDevice) else None
        )
        self._service_filter = services
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._closing = False
        self._subscribers: dict[int, Callable[[bytes], None]] = {}
        # Set when the link drops: GATT requests in flight fail at once, as on BlueZ.
        self._link_lost: asyncio.Future[None] | None = None

    @property
    def name(self) -> str:
        return self._device_name or self.address.replace(":", "-")

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection else _ATT_MTU_DEFAULT

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        timeout = float(kwargs.get("timeout", self._timeout))
        address = self._radio.resolve(self.address)
        try:
            connection = await self._radio.connect(address, connect_timeout=timeout)
        except core.TimeoutError as exc:
            raise TimeoutError(f"device {self.address} did not answer") from exc
        except core.BaseBumbleError as exc:
            raise BleakDeviceNotFoundError(self.address, f"connect failed: {exc}") from exc
        self._connection = connection
        self._peer = Peer(connection)
        self._closing = False
        self._link_lost = asyncio.get_running_loop().create_future()
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
        try:
            if pair:
                await self.pair()
            async with asyncio.timeout(timeout):
                self.services = await self._discover()
        except BaseException:
            await self.disconnect()
            raise

    def _on_disconnection(self, reason: int) -> None:
        solicited = self._closing
        self._connection = None
        self._peer = None
        self._subscribers.clear()
        if self._link_lost is not None and not self._link_lost.done():
            self._link_lost.set_result(None)
        if not solicited and self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        self._closing = True
        try:
            # bumble waits for Disconnection Complete without a deadline; a link the peer
            # dropped at the same moment may never report it.
            async with asyncio.timeout(DISCONNECT_TIMEOUT):
                await connection.disconnect()
        except (core.BaseBumbleError, TimeoutError):
            logger.debug("disconnect of %s failed; treating as gone", self.address, exc_info=True)
        self._connection = None
        self._peer = None

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        connection = self._require_connection()
        try:
            await connection.pair()
        except core.BaseBumbleError as exc:
            raise BleakError(f"pairing with {self.address} failed: {exc}") from exc

    async def unpair(self) -> None:
        keystore = self._radio.device.keystore
        if keystore is not None:
            with contextlib.suppress(KeyError):
                await keystore.delete(str(self._radio.resolve(self.address)))

    # Discovery

    async def _discover(self) -> BleakGATTServiceCollection:
        peer = self._require_peer()
        collection = BleakGATTServiceCollection()
        for service in await self._gatt(peer.discover_services()):
            uuid = bleak_uuid(service.uuid)
            if self._service_filter is not None and uuid not in self._service_filter:
                continue
            await self._add_service(collection, service, uuid)
        return collection

    async def _add_service(
        self, collection: BleakGATTServiceCollection, service: ServiceProxy, uuid: str
    ) -> None:
        bleak_service = BleakGATTService(service, service.handle, uuid)
        collection.add_service(bleak_service)
        for characteristic in await self._gatt(service.discover_characteristics()):
            bleak_char = BleakGATTCharacteristic(
                characteristic,
                characteristic.handle,
                bleak_uuid(characteristic.uuid),
                _properties(int(characteristic.properties)),
                lambda: self.mtu_size - 3,
                bleak_service,
            )
            collection.add_characteristic(bleak_char)
            for descriptor in await self._gatt(characteristic.discover_descriptors()):
                collection.add_descriptor(
                    BleakGATTDescriptor(
                        descriptor, descriptor.handle, bleak_uuid(descriptor.type), bleak_char
                    )
                )

    # I/O

    async def _gatt(self, operation: Awaitable[_T]) -> _T:
        """One GATT request; it fails as soon as the link drops instead of waiting out
        bumble's 30 s request timeout (bumble does not fail requests on a disconnection)."""
        lost = self._link_lost
        if lost is None:
            return await _translated(operation)
        request = asyncio.ensure_future(_translated(operation))
        try:
            waits: set[asyncio.Future[Any]] = {request, lost}
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not request.done():
                request.cancel()
        if request.done() and not request.cancelled():
            return request.result()
        raise BleakError(f"{self.address} disconnected during a GATT request")

    def _require_connection(self) -> Connection:
        if self._connection is None:
            raise BleakError("Not connected")
        return self._connection

    def _require_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError("Not connected")
        return self._peer

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._require_peer()
        return bytearray(await self._gatt(peer.read_value(characteristic.handle)))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._require_peer()
        return bytearray(await self._gatt(peer.read_value(descriptor.handle)))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        peer = self._require_peer()
        await self._gatt(
            peer.write_value(characteristic.handle, bytes(data), with_response=response)
        )

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        peer = self._require_peer()
        await self._gatt(peer.write_value(descriptor.handle, bytes(data), with_response=True))

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        peer = self._require_peer()
        proxy = characteristic.obj
        assert isinstance(proxy, CharacteristicProxy)

        def subscriber(value: bytes) -> None:
            callback(bytearray(value))

        try:
            await self._gatt(peer.subscribe(proxy, subscriber, prefer_notify=True))
        except BaseException:
            # bumble registers the subscriber before the CCCD write; undo that locally.
            client = peer.gatt_client
            for table in (client.notification_subscribers, client.indication_subscribers):
                table.pop(proxy.handle, None)
            raise
        self._subscribers[proxy.handle] = subscriber

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        peer = self._require_peer()
        proxy = characteristic.obj
        assert isinstance(proxy, CharacteristicProxy)
        subscriber = self._subscribers.pop(proxy.handle, None)
        await self._gatt(peer.unsubscribe(proxy, subscriber))
