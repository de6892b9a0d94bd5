"""Pulse Oximeter service 0x1822: PLX Spot-check 0x2A5E and PLX Continuous 0x2A5F.

Spot-check: flags | SpO2 SFLOAT | PR SFLOAT | [Date Time, b0] | [measurement status u16, b1] |
[device and sensor status u24, b2] | [pulse amplitude index SFLOAT, b3]; b4 = device clock
not set (its timestamp, if any, is then meaningless).

Continuous: flags | SpO2 | PR | [fast SpO2 + PR, b0] | [slow SpO2 + PR, b1] |
[measurement status u16, b2] | [device and sensor status u24, b3] | [pulse amplitude index, b4].

Reserved flag and status bits are ignored (kept in the raw status values); bytes after the last
field are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntFlag

from device_agent.gatt import sfloat
from device_agent.gatt._reader import Reader
from device_agent.gatt.date_time import DateTime, encode_date_time, read_date_time

SERVICE_UUID = 0x1822
SPOT_CHECK_UUID = 0x2A5E
CONTINUOUS_UUID = 0x2A5F
FEATURES_UUID = 0x2A60

SPOT_FLAG_TIMESTAMP = 0x01
SPOT_FLAG_MEASUREMENT_STATUS = 0x02
SPOT_FLAG_DEVICE_SENSOR_STATUS = 0x04
SPOT_FLAG_PULSE_AMPLITUDE_INDEX = 0x08
SPOT_FLAG_DEVICE_CLOCK_NOT_SET = 0x10

CONT_FLAG_FAST = 0x01
CONT_FLAG_SLOW = 0x02
CONT_FLAG_MEASUREMENT_STATUS = 0x04
CONT_FLAG_DEVICE_SENSOR_STATUS = 0x08
CONT_FLAG_PULSE_AMPLITUDE_INDEX = 0x10


class MeasurementStatus(IntFlag):
    """PLX Measurement Status (u16); bits 0–4 are reserved."""

    MEASUREMENT_ONGOING = 1 << 5
    EARLY_ESTIMATED_DATA = 1 << 6
    VALIDATED_DATA = 1 << 7
    FULLY_QUALIFIED_DATA = 1 << 8
    DATA_FROM_MEASUREMENT_STORAGE = 1 << 9
    DATA_FOR_DEMONSTRATION = 1 << 10
    DATA_FOR_TESTING = 1 << 11
    CALIBRATION_ONGOING = 1 << 12
    MEASUREMENT_UNAVAILABLE = 1 << 13
    QUESTIONABLE_MEASUREMENT_DETECTED = 1 << 14
    INVALID_MEASUREMENT_DETECTED = 1 << 15


class DeviceSensorStatus(IntFlag):
    """PLX Device and Sensor Status (u24); bits 16–23 are reserved."""

    EXTENDED_DISPLAY_UPDATE_ONGOING = 1 << 0
    EQUIPMENT_MALFUNCTION_DETECTED = 1 << 1
    SIGNAL_PROCESSING_IRREGULARITY_DETECTED = 1 << 2
    INADEQUATE_SIGNAL_DETECTED = 1 << 3
    POOR_SIGNAL_DETECTED = 1 << 4
    LOW_PERFUSION_DETECTED = 1 << 5
    ERRATIC_SIGNAL_DETECTED = 1 << 6
    NON_PULSATILE_SIGNAL_DETECTED = 1 << 7
    QUESTIONABLE_PULSE_DETECTED = 1 << 8
    SIGNAL_ANALYSIS_ONGOING = 1 << 9
    SENSOR_INTERFERENCE_DETECTED = 1 << 10
    SENSOR_UNCONNECTED_TO_USER = 1 << 11
    UNKNOWN_SENSOR_CONNECTED = 1 << 12
    SENSOR_DISPLACED = 1 << 13
    SENSOR_MALFUNCTIONING = 1 << 14
    SENSOR_DISCONNECTED = 1 << 15


@dataclass(frozen=True, slots=True)
class SpotCheck:
    """A PLX Spot-check Measurement (0x2A5E). SpO2 in %, pulse rate in beats per minute.

    ``timestamp`` is ``None`` when absent, incomplete, or when the device says its clock is not
    set (``device_clock_not_set``); ``timestamp_fields`` keeps what was sent.
    """

    spo2: float
    pulse_rate: float
    timestamp: datetime | None
    timestamp_fields: DateTime | None
    measurement_status: MeasurementStatus | None
    device_sensor_status: DeviceSensorStatus | None
    pulse_amplitude_index: float | None
    device_clock_not_set: bool


@dataclass(frozen=True, slots=True)
class Continuous:
    """A PLX Continuous Measurement (0x2A5F)."""

    spo2: float
    pulse_rate: float
    spo2_fast: float | None
    pulse_rate_fast: float | None
    spo2_slow: float | None
    pulse_rate_slow: float | None
    measurement_status: MeasurementStatus | None
    device_sensor_status: DeviceSensorStatus | None
    pulse_amplitude_index: float | None


def parse_spot_check(data: bytes | bytearray | memoryview) -> SpotCheck:
    """Parse a PLX Spot-check Measurement. Raises ``ParseError`` on malformed bytes."""
    reader = Reader(data, what="PLX spot-check measurement")
    flags = reader.u8("flags")
    spo2 = reader.sfloat("spo2")
    pulse_rate = reader.sfloat("pulse_rate")
    fields = read_date_time(reader, "timestamp") if flags & SPOT_FLAG_TIMESTAMP else None
    measurement_status = (
        MeasurementStatus(reader.u16("measurement_status"))
        if flags & SPOT_FLAG_MEASUREMENT_STATUS
        else None
    )
    device_sensor_status = (
        DeviceSensorStatus(reader.u24("device_sensor_status"))
        if flags & SPOT_FLAG_DEVICE_SENSOR_STATUS
        else None
    )
    pai = (
        reader.sfloat("pulse_amplitude_index") if flags & SPOT_FLAG_PULSE_AMPLITUDE_INDEX else None
    )
    clock_not_set = bool(flags & SPOT_FLAG_DEVICE_CLOCK_NOT_SET)
    return SpotCheck(
        spo2=spo2,
        pulse_rate=pulse_rate,
        timestamp=fields.to_datetime() if fields and not clock_not_set else None,
        timestamp_fields=fields,
        measurement_status=measurement_status,
        device_sensor_status=device_sensor_status,
        pulse_amplitude_index=pai,
        device_clock_not_set=clock_not_set,
    )


def parse_continuous(data: bytes | bytearray | memoryview) -> Continuous:
    """Parse a PLX Continuous Measurement. Raises ``ParseError`` on malformed bytes."""
    reader = Reader(data, what="PLX continuous measurement")
    flags = reader.u8("flags")
    spo2 = reader.sfloat("spo2")
    pulse_rate = reader.sfloat("pulse_rate")
    spo2_fast = pulse_rate_fast = spo2_slow = pulse_rate_slow = None
    if flags & CONT_FLAG_FAST:
        spo2_fast = reader.sfloat("spo2_fast")
        pulse_rate_fast = reader.sfloat("pulse_rate_fast")
    if flags & CONT_FLAG_SLOW:
        spo2_slow = reader.sfloat("spo2_slow")
        pulse_rate_slow = reader.sfloat("pulse_rate_slow")
    measurement_status = (
        MeasurementStatus(reader.u16("measurement_status"))
        if flags & CONT_FLAG_MEASUREMENT_STATUS
        else None
    )
    device_sensor_status = (
        DeviceSensorStatus(reader.u24("device_sensor_status"))
        if flags & CONT_FLAG_DEVICE_SENSOR_STATUS
        else None
    )
    pai = (
        reader.sfloat("pulse_amplitude_index") if flags & CONT_FLAG_PULSE_AMPLITUDE_INDEX else None
    )
    return Continuous(
        spo2=spo2,
        pulse_rate=pulse_rate,
        spo2_fast=spo2_fast,
        pulse_rate_fast=pulse_rate_fast,
        spo2_slow=spo2_slow,
        pulse_rate_slow=pulse_rate_slow,
        measurement_status=measurement_status,
        device_sensor_status=device_sensor_status,
        pulse_amplitude_index=pai,
    )


def encode_spot_check(
    *,
    spo2: float,
    pulse_rate: float,
    timestamp: datetime | DateTime | None = None,
    measurement_status: int | None = None,
    device_sensor_status: int | None = None,
    pulse_amplitude_index: float | None = None,
    device_clock_not_set: bool = False,
) -> bytes:
    """Bytes of a 0x2A5E value (for simulated peripherals); optional fields only when given."""
    flags = SPOT_FLAG_DEVICE_CLOCK_NOT_SET if device_clock_not_set else 0
    body = sfloat.encode(spo2) + sfloat.encode(pulse_rate)
    if timestamp is not None:
        flags |= SPOT_FLAG_TIMESTAMP
        body += encode_date_time(timestamp)
    if measurement_status is not None:
        flags |= SPOT_FLAG_MEASUREMENT_STATUS
        body += int(measurement_status).to_bytes(2, "little")
    if device_sensor_status is not None:
        flags |= SPOT_FLAG_DEVICE_SENSOR_STATUS
        body += int(device_sensor_status).to_bytes(3, "little")
    if pulse_amplitude_index is not None:
        flags |= SPOT_FLAG_PULSE_AMPLITUDE_INDEX
        body += sfloat.encode(pulse_amplitude_index)
    return bytes([flags]) + body


def encode_continuous(
    *,
    spo2: float,
    pulse_rate: float,
    fast: tuple[float, float] | None = None,
    slow: tuple[float, float] | None = None,
    measurement_status: int | None = None,
    device_sensor_status: int | None = None,
    pulse_amplitude_index: float | None = None,
) -> bytes:
    """Bytes of a 0x2A5F value; ``fast``/``slow`` are (SpO2, pulse rate) pairs."""
    flags = 0
    body = sfloat.encode(spo2) + sfloat.encode(pulse_rate)
    if fast is not None:
        flags |= CONT_FLAG_FAST
        body += sfloat.encode(fast[0]) + sfloat.encode(fast[1])
    if slow is not None:
        flags |= CONT_FLAG_SLOW
        body += sfloat.encode(slow[0]) + sfloat.encode(slow[1])
    if measurement_status is not None:
        flags |= CONT_FLAG_MEASUREMENT_STATUS
        body += int(measurement_status).to_bytes(2, "little")
    if device_sensor_status is not None:
        flags |= CONT_FLAG_DEVICE_SENSOR_STATUS
        body += int(device_sensor_status).to_bytes(3, "little")
    if pulse_amplitude_index is not None:
        flags |= CONT_FLAG_PULSE_AMPLITUDE_INDEX
        body += sfloat.encode(pulse_amplitude_index)
    return bytes([flags]) + body
