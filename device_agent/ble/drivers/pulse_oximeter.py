"""Standard Pulse Oximeter service 0x1822: spot-check readings indicated on 0x2A5E."""

from __future__ import annotations

from datetime import datetime

from bleak import BleakClient

from device_agent.ble.adverts import Advert, uuid16
from device_agent.ble.drivers.base import (
    ConnectedDriver,
    DriverContext,
    SeenSet,
    StreamConsumer,
    clock_suspect,
)
from device_agent.ble.types import BleDeviceSpec
from device_agent.gatt import ParseError, pulse_oximeter
from eldercare_protocol import Measurement, MeasurementCode, VitalsEvent, VitalsPayload


def match(advert: Advert) -> int:
    return 100 if advert.has_service(uuid16(pulse_oximeter.SERVICE_UUID)) else 0


def vitals_payload(data: bytes, *, received: datetime) -> VitalsPayload:
    reading = pulse_oximeter.parse_spot_check(data)
    measurements = [
        Measurement(code=MeasurementCode.SPO2, value=reading.spo2, unit="%"),
        Measurement(code=MeasurementCode.PULSE, value=reading.pulse_rate, unit="/min"),
    ]
    if reading.pulse_amplitude_index is not None:
        measurements.append(
            Measurement(
                code=MeasurementCode.PULSE_AMPLITUDE_INDEX,
                value=reading.pulse_amplitude_index,
                unit="%",
            )
        )
    flags: dict[str, bool | int | str] = {"device_clock_not_set": reading.device_clock_not_set}
    if reading.measurement_status is not None:
        flags["measurement_status"] = int(reading.measurement_status)
    if reading.device_sensor_status is not None:
        flags["device_sensor_status"] = int(reading.device_sensor_status)
    return VitalsPayload(
        measurements=measurements,
        device_time=reading.timestamp,
        device_clock_suspect=reading.device_clock_not_set
        or clock_suspect(reading.timestamp, received=received),
        characteristic="2a5e",
        raw_hex=bytes(data).hex(),
        flags=flags,
    )


class PlxOximeterDriver(ConnectedDriver):
    name = "plx_oximeter"

    def __init__(self, spec: BleDeviceSpec, ctx: DriverContext) -> None:
        super().__init__(spec, ctx)
        self._seen = SeenSet()

    async def session(self, client: BleakClient) -> None:
        consumer = StreamConsumer(self._forward)
        try:
            await client.start_notify(uuid16(pulse_oximeter.SPOT_CHECK_UUID), consumer)
            await self.wait_idle(consumer.activity)
        finally:
            await consumer.drain_and_stop()

    async def _forward(self, data: bytes) -> None:
        if not self._seen.add(data.hex()):
            return
        fields = self.event_fields()
        try:
            payload = vitals_payload(data, received=fields["occurred_at"])
        except ParseError as exc:
            self.log.warning(
                "%s: dropped malformed spot-check %s: %s", self.spec.name, data.hex(), exc
            )
            return
        await self.emit(VitalsEvent(**fields, payload=payload))
