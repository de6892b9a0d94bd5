"""Standard services that indicate one stored reading per value on one characteristic:
Blood Pressure (0x1810, readings on 0x2A35) and Pulse Oximeter (0x1822, spot checks on 0x2A5E).

One driver serves both, given the characteristic to subscribe to and the pure function that
turns a value into a payload (``device_agent.ble.payloads``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bleak import BleakClient

from device_agent.ble import payloads
from device_agent.ble.adverts import Advert, uuid16
from device_agent.ble.drivers.base import ConnectedDriver, DriverContext, SeenSet, StreamConsumer
from device_agent.ble.types import BleDeviceSpec
from device_agent.gatt import ParseError, blood_pressure, pulse_oximeter
from eldercare_protocol import VitalsEvent, VitalsPayload


class PayloadFunction(Protocol):
    def __call__(self, data: bytes, *, received: datetime) -> VitalsPayload: ...


@dataclass(frozen=True)
class ReadingService:
    """A service whose readings arrive one per indication on ``characteristic``."""

    driver_name: str
    service: int
    characteristic: int
    payload: PayloadFunction

    def match(self, advert: Advert) -> int:
        return 100 if advert.has_service(uuid16(self.service)) else 0

    def driver(self, spec: BleDeviceSpec, ctx: DriverContext) -> ReadingsDriver:
        return ReadingsDriver(spec, ctx, service=self)


BLOOD_PRESSURE = ReadingService(
    "blood_pressure",
    blood_pressure.SERVICE_UUID,
    blood_pressure.MEASUREMENT_UUID,
    payloads.blood_pressure_payload,
)
PLX_SPOT_CHECK = ReadingService(
    "plx_oximeter",
    pulse_oximeter.SERVICE_UUID,
    pulse_oximeter.SPOT_CHECK_UUID,
    payloads.spot_check_payload,
)


class ReadingsDriver(ConnectedDriver):
    def __init__(self, spec: BleDeviceSpec, ctx: DriverContext, *, service: ReadingService) -> None:
        super().__init__(spec, ctx)
        self.service = service
        self.name = service.driver_name
        self._seen = SeenSet()

    async def session(self, client: BleakClient) -> None:
        consumer = StreamConsumer(self._forward)
        try:
            await client.start_notify(uuid16(self.service.characteristic), consumer)
            await self.wait_idle(consumer.activity)
        finally:
            await consumer.drain_and_stop()

    async def _forward(self, data: bytes) -> None:
        # A device may resend stored readings on the next connection: same bytes, same reading.
        if not self._seen.add(data.hex()):
            return
        fields = self.event_fields()
        try:
            payload = self.service.payload(data, received=fields["occurred_at"])
        except ParseError as exc:
            self.log.warning(
                "%s: dropped malformed reading %s: %s", self.spec.name, data.hex(), exc
            )
            return
        await self.emit(VitalsEvent(**fields, payload=payload))
