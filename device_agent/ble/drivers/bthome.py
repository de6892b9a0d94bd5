"""BTHome v2 buttons (e.g. Shelly BLU Button): passive scanning, no connection.

Adverts repeat each press several times: a packet id (and, encrypted, the counter) already
handled is ignored. Every press raises a panic carrying its press type; a configured test
pattern (default triple press) raises a *test* panic instead. A button whose adverts cannot
be decrypted (no or wrong bind key) gets one clear ``error`` status, not one per advert.

A button with a bind key is held to the BTHome encryption rules: a plaintext advert claiming
its address (a downgrade) and an encrypted advert older than one already accepted (a replay)
are refused, and reported as an ``error`` status and a problem in the hub's health, since
someone near the home is sending presses that are not the elder's.
"""

from __future__ import annotations

import asyncio
import time

from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData

from device_agent.ble import payloads
from device_agent.ble.adverts import Advert
from device_agent.ble.drivers.base import Driver, DriverContext
from device_agent.ble.types import BleDeviceSpec
from device_agent.gatt import ParseError, bthome
from eldercare_protocol import DeviceStatus, PanicEvent, PressType

DEFAULT_TEST_PRESS = PressType.TRIPLE
# A refused downgrade or replay stays the button's problem in the hub's health this long,
# so heartbeats carry it even though the real button's next press is read normally.
REFUSAL_HELD_S = 600.0


def match(advert: Advert) -> int:
    return 100 if bthome.SERVICE_UUID_STR in advert.service_data else 0


class BthomeButtonDriver(Driver):
    name = "bthome_button"

    def __init__(self, spec: BleDeviceSpec, ctx: DriverContext) -> None:
        super().__init__(spec, ctx)
        test = spec.options.get("test_press", DEFAULT_TEST_PRESS.value)
        self.test_press: PressType | None = PressType(str(test)) if test else None
        self._last_key: tuple[int | None, int | None] | None = None
        self._last_counter: int | None = None
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._decrypt_failed = False
        self._refused: payloads.BthomeCheck | None = None
        self._refusal: tuple[str, float] | None = None  # problem, monotonic time
        self._unknown_object_id: int | None = None

    async def run(self) -> None:
        # Active scanning: BlueZ only scans passively with advertisement-monitor patterns.
        scanner = BleakScanner(self._on_advert, backend=self.ctx.backend.scanner)
        await scanner.start()
        try:
            while True:
                await self.handle(await self._queue.get())
        finally:
            await scanner.stop()

    def _on_advert(self, device: BLEDevice, adv: AdvertisementData) -> None:
        if device.address.upper() != self.device_id:
            return
        data = adv.service_data.get(bthome.SERVICE_UUID_STR)
        if data is not None:
            self._queue.put_nowait(bytes(data))

    async def handle(self, data: bytes) -> None:
        """One advert's BTHome service data."""
        try:
            packet = bthome.parse(data, bind_key=self.spec.bind_key, mac=self.spec.address)
        except ParseError as exc:
            await self._undecodable(data, exc)
            return
        except ValueError as exc:  # a malformed configured key
            await self._undecodable(data, exc)
            return
        check = payloads.bthome_security(
            packet, keyed=self.spec.bind_key is not None, last_counter=self._last_counter
        )
        if check in (payloads.BthomeCheck.DOWNGRADE, payloads.BthomeCheck.REPLAY):
            await self._refuse(check, packet)
            return
        self._decrypt_failed = False
        self._refused = None
        self.ctx.health.update(
            self.device_id, reachable=True, battery=packet.battery, problem=self._held_problem()
        )
        if check is payloads.BthomeCheck.REPEAT:
            return  # the same encrypted advert again
        if packet.counter is not None:
            self._last_counter = packet.counter
        self._note_unknown_object(packet)
        key = (packet.packet_id, packet.counter)
        if packet.packet_id is not None and key == self._last_key:
            return  # the same press, advertised again
        self._last_key = key
        if self._status is not DeviceStatus.CONNECTED:
            await self.set_status(DeviceStatus.CONNECTED)
        if packet.battery is not None:
            await self.report_battery(packet.battery, problem=self._held_problem())
        for panic in payloads.bthome_panics(packet, test_press=self.test_press):
            await self.emit(PanicEvent(**self.event_fields(), payload=panic))

    async def _refuse(self, check: payloads.BthomeCheck, packet: bthome.Packet) -> None:
        if check is payloads.BthomeCheck.DOWNGRADE:
            detail = (
                f"{self.spec.name} ({self.spec.address}) has a bind key, but an unencrypted "
                "BTHome advert came from its address: someone may be imitating the button. "
                "Such adverts are refused; presses from the real button still arrive."
            )
        else:
            detail = (
                f"{self.spec.name} ({self.spec.address}): an encrypted BTHome advert came with "
                f"counter {packet.counter}, older than {self._last_counter} already received: "
                "someone may be replaying a recorded press. It is refused; presses from the "
                "real button still arrive."
            )
        if self._refused is not check:
            self._refused = check
            self.log.error("%s", detail)
        problem = f"BTHome {check.value} refused: someone may be imitating this button"
        self._refusal = (problem, time.monotonic())
        self.ctx.health.update(self.device_id, reachable=True, problem=problem)
        await self.set_status(DeviceStatus.ERROR, detail)

    def _held_problem(self) -> str | None:
        if self._refusal is None:
            return None
        problem, at = self._refusal
        if time.monotonic() - at > REFUSAL_HELD_S:
            self._refusal = None
            return None
        return problem

    def _note_unknown_object(self, packet: bthome.Packet) -> None:
        unknown = packet.unknown_object_id
        if unknown is not None and unknown != self._unknown_object_id:
            self.log.warning(
                "%s sends BTHome object 0x%02X, which this hub does not know; the objects "
                "before it (button, battery) are read, the rest of each advert is not",
                self.spec.name,
                unknown,
            )
        self._unknown_object_id = unknown

    async def _undecodable(self, data: bytes, exc: Exception) -> None:
        encrypted = bool(data) and bool(data[0] & bthome.INFO_ENCRYPTED)
        if encrypted:
            detail = (
                f"{self.spec.name} ({self.spec.address}) sends encrypted BTHome adverts that "
                + (
                    "cannot be read without its bind key: add the 32-hex-digit bind key "
                    "from the button's app to this device's configuration."
                    if not self.spec.bind_key
                    else "do not decrypt with the configured bind key: check the key "
                    "(it changes if the button was re-keyed)."
                )
                + " Presses from this button are NOT being received."
            )
        else:
            detail = f"{self.spec.name} ({self.spec.address}) sent an unreadable advert: {exc}"
        if not self._decrypt_failed:
            self._decrypt_failed = True
            self.log.error("%s", detail)
            self.ctx.health.update(self.device_id, reachable=True, problem=detail[:200])
        await self.set_status(DeviceStatus.ERROR, detail)
