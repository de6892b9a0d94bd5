"""Standard Blood Pressure service 0x1810: stored readings indicated on 0x2A35."""

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
from device_agent.gatt import ParseError, blood_pressure
from eldercare_protocol import Measurement, MeasurementCode, VitalsEvent, VitalsPayload

_UNITS = {"mmHg": "mm[Hg]", "kPa": "kPa"}


def match(advert: Advert) -> int:
    return 100 if advert.has_service(uuid16(blood_pressure.SERVICE_UUID)) else 0


def vitals_payload(data: bytes, *, received: datetime) -> VitalsPayload:
    """One 0x2A35 value as a vitals payload. Raises ``ParseError`` on malformed bytes."""
    reading = blood_pressure.parse_measurement(data)
    unit = _UNITS[reading.unit]
    measurements = [
        Measurement(code=MeasurementCode.SYSTOLIC, value=reading.systolic, unit=unit),
        Measurement(code=MeasurementCode.DIASTOLIC, value=reading.diastolic, unit=unit),
        Measurement(
            code=MeasurementCode.MEAN_ARTERIAL_PRESSURE,
            value=reading.mean_arterial_pressure,
            unit=unit,
        ),
    ]
    if reading.pulse_rate is not None:
        measurements.append(
            Measurement(code=MeasurementCode.PULSE, value=reading.pulse_rate, unit="/min")
        )
    flags: dict[str, bool | int | str] = {}
    if reading.status is not None:
        flags.update(
            body_movement=reading.status.body_movement,
            cuff_too_loose=reading.status.cuff_too_loose,
            irregular_pulse=reading.status.irregular_pulse,
            pulse_range=reading.status.pulse_range,
            improper_position=reading.status.improper_position,
            status_raw=reading.status.raw,
        )
    if reading.user_id is not None:
        flags["user_id"] = reading.user_id
    return VitalsPayload(
        measurements=measurements,
        device_time=reading.timestamp,
        device_clock_suspect=clock_suspect(reading.timestamp, received=received),
        characteristic="2a35",
        raw_hex=bytes(data).hex(),
        flags=flags,
    )


class BloodPressureDriver(ConnectedDriver):
    name = "blood_pressure"

    def __init__(self, spec: BleDeviceSpec, ctx: DriverContext) -> None:
        super().__init__(spec, ctx)
        self._seen = SeenSet()

    async def session(self, client: BleakClient) -> None:
        consumer = StreamConsumer(self._forward)
        try:
            await client.start_notify(uuid16(blood_pressure.MEASUREMENT_UUID), consumer)
            await self.wait_idle(consumer.activity)
        finally:
            await consumer.drain_and_stop()

    async def _forward(self, data: bytes) -> None:
        # A cuff may resend stored readings on the next connection: same bytes, same reading.
        if not self._seen.add(data.hex()):
            return
        fields = self.event_fields()
        try:
            payload = vitals_payload(data, received=fields["occurred_at"])
        except ParseError as exc:
            self.log.warning(
                "%s: dropped malformed reading %s: %s", self.spec.name, data.hex(), exc
            )
            return
        await self.emit(VitalsEvent(**fields, payload=payload))
