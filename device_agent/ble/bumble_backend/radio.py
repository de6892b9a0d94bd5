"""The hub's simulated radio: one bumble central on a bumble ``LocalLink``.

Simulated peripherals (``device_agent.sim``) join the same link. The radio owns the shared
scanning state (several bleak scanners may be open at once, as on a real adapter) and
serialises connection attempts, since a controller creates one LE connection at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from bumble import hci
from bumble.controller import Connection as LinkConnection
from bumble.controller import Controller
from bumble.device import Advertisement, Connection, Device
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from device_agent.ble.types import BleBackend

logger = logging.getLogger(__name__)

HUB_ADDRESS = "F0:E1:D2:C3:B4:A5"
CONNECT_GRACE_S = 3.0


@dataclass(frozen=True)
class BumbleDeviceDetails:
    """``BLEDevice.details`` for this backend: the address with its type.

    Deliberately not a dict: bleak-retry-connector looks for BlueZ paths in dict details.
    """

    address: hci.Address


class HubController(Controller):
    """bumble's virtual controller, plus a working LE Create Connection Cancel.

    The stock controller acknowledges the cancel but keeps the pending connection and never
    sends the LE Connection Complete event a real controller sends (status Unknown
    Connection Identifier). The host then waits forever after a connect timeout, and every
    later connect is refused as "already pending". Finishing the cancel like a real
    controller lets an out-of-range device time out cleanly.
    """

    def on_hci_le_create_connection_cancel_command(
        self, command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        pending = self.pending_le_connection
        if pending is not None:
            self.pending_le_connection = None
            peer = pending.peer_address
            # After the command's own completion, as on a real controller.
            asyncio.get_running_loop().call_soon(
                self.send_hci_packet,
                hci.HCI_LE_Connection_Complete_Event(
                    status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
                    connection_handle=0,
                    role=hci.Role.CENTRAL,
                    peer_address_type=peer.address_type,
                    peer_address=peer,
                    connection_interval=0,
                    peripheral_latency=0,
                    supervision_timeout=0,
                    central_clock_accuracy=0,
                ),
            )
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)

    def create_le_connection(self, peer_address: hci.Address) -> None:
        """Connect on the peer's advert, and fail the link if the peer never took it.

        The stock controller reports the connection complete as soon as it sends
        CONNECT_IND; a peer that stopped advertising in between (carried out of range at that
        moment) ignores it, and the hub is left with a link nobody answers, its GATT requests
        waiting out their timeouts. A real controller hears nothing from the peer within six
        connection intervals and reports Connection Failed to be Established (0x3E).
        """
        super().create_le_connection(peer_address)
        connection = self.le_connections.get(peer_address)
        if connection is None:
            return
        # CONNECT_IND reaches the peer on the next loop turn; look one turn after that.
        loop = asyncio.get_running_loop()
        loop.call_soon(loop.call_soon, self._confirm_le_connection, connection)

    def _confirm_le_connection(self, connection: LinkConnection) -> None:
        if self.le_connections.get(connection.peer_address) is not connection:
            return  # already gone
        peer = self.link.find_le_controller(connection.peer_address) if self.link else None
        if peer is not None and peer.le_connections.get(connection.self_address) is not None:
            return
        logger.debug("the peer never took the link to %s", connection.peer_address)
        self.on_le_disconnected(
            connection, hci.HCI_ErrorCode.CONNECTION_FAILED_TO_BE_ESTABLISHED_ERROR
        )


AdvertisementListener = Callable[[Advertisement], None]


class BumbleRadio:
    """A bumble central device attached to ``link``; hand ``backend()`` to the agent."""

    def __init__(
        self, link: LocalLink, *, address: str = HUB_ADDRESS, name: str = "eldercare-hub"
    ) -> None:
        self.link = link
        self.controller = HubController(name, link=link)
        self.device = Device(
            name=name,
            address=hci.Address(address),
            host=Host(self.controller, AsyncPipeSink(self.controller)),
        )
        self._powered = False
        self._connect_lock = asyncio.Lock()
        self._scan_lock = asyncio.Lock()
        self._listeners: dict[object, AdvertisementListener] = {}
        self._known: dict[str, hci.Address] = {}
        # Connect attempts that bumble had not ended when its own timeout and our grace were
        # over: none are expected (see compat.py); tests name them when they fail.
        self.stuck_connects = 0
        self.device.on(self.device.EVENT_ADVERTISEMENT, self._on_advertisement)

    async def power_on(self) -> None:
        if not self._powered:
            await self.device.power_on()
            # Once a peer is bonded, bumble's connect first scans, without any timeout, for
            # a private address resolving to it, and stops the shared scan when done.
            # Simulated peripherals keep static addresses, so skip that step; set after
            # power-on so no resolution-enable command goes to the virtual controller.
            self.device.address_resolution_offload = True
            self._powered = True

    async def close(self) -> None:
        for connection in list(self.device.connections.values()):
            try:
                async with asyncio.timeout(2.0):
                    await connection.disconnect()
            except Exception:  # closing must not fail on a dead link
                logger.debug("disconnect on close failed", exc_info=True)
        async with self._scan_lock:
            self._listeners.clear()
            if self.device.scanning:
                await self.device.stop_scanning()

    def backend(self) -> BleBackend:
        """bleak backend classes bound to this radio."""
        from device_agent.ble.bumble_backend.client import BumbleClient
        from device_agent.ble.bumble_backend.scanner import BumbleScanner

        radio = self

        class _Scanner(BumbleScanner):
            _radio = radio

        class _Client(BumbleClient):
            _radio = radio

        return BleBackend(scanner=_Scanner, client=_Client)

    # Scanning: one bumble scan shared by every open bleak scanner.

    async def add_listener(self, token: object, listener: AdvertisementListener) -> None:
        await self.power_on()
        async with self._scan_lock:
            self._listeners[token] = listener
            if not self.device.scanning:
                await self.device.start_scanning(active=True, filter_duplicates=False)

    async def remove_listener(self, token: object) -> None:
        async with self._scan_lock:
            self._listeners.pop(token, None)
            if not self._listeners and self.device.scanning:
                await self.device.stop_scanning()

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        self._known[advertisement.address.to_string(False)] = advertisement.address
        for listener in list(self._listeners.values()):
            listener(advertisement)

    def resolve(self, address: str) -> hci.Address:
        """The typed address last heard for ``address``; random static if never heard."""
        known = self._known.get(address.upper())
        if known is not None:
            return known
        return hci.Address(address.upper(), hci.Address.RANDOM_DEVICE_ADDRESS)

    async def connect(self, address: hci.Address, *, connect_timeout: float) -> Connection:
        await self.power_on()
        # bumble's own timeout ends the attempt; this outer bound is a guard, so a caller is
        # never held by a connect that does not end (see stuck_connects).
        deadline = connect_timeout + CONNECT_GRACE_S
        async with self._connect_lock:
            attempt = asyncio.ensure_future(self.device.connect(address, timeout=connect_timeout))
            try:
                async with asyncio.timeout(deadline):
                    return await asyncio.shield(attempt)
            except TimeoutError:
                if not attempt.done():
                    self.stuck_connects += 1
                    logger.warning(
                        "bumble's connect to %s outlived its %.1f s timeout",
                        address,
                        connect_timeout,
                    )
                raise
            except asyncio.CancelledError:
                # Cancelling bumble's connect half-way leaves the controller connecting and
                # the host unable to accept the result; let it finish (bounded), then drop
                # the link nobody wants any more.
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(deadline):
                        connection = await asyncio.shield(attempt)
                    async with asyncio.timeout(2.0):
                        await connection.disconnect()
                raise
