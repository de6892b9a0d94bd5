"""Blood Pressure service 0x1810: Measurement 0x2A35 and Intermediate Cuff Pressure 0x2A36.

Layout: flags u8 | systolic SFLOAT | diastolic SFLOAT | mean arterial pressure SFLOAT |
[Date Time, flag bit1] | [pulse rate SFLOAT, bit2] | [user id u8, bit3] | [status u16, bit4].
Flag bit0 selects the unit (0 mmHg, 1 kPa). Reserved flag bits are ignored, as are bytes after
the last field (later versions of the specification may append fields).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from device_agent.gatt import sfloat
from device_agent.gatt._reader import Reader
from device_agent.gatt.date_time import DateTime, encode_date_time, read_date_time

SERVICE_UUID = 0x1810
MEASUREMENT_UUID = 0x2A35
INTERMEDIATE_CUFF_PRESSURE_UUID = 0x2A36
FEATURE_UUID = 0x2A49

FLAG_UNIT_KPA = 0x01
FLAG_TIMESTAMP = 0x02
FLAG_PULSE_RATE = 0x04
FLAG_USER_ID = 0x08
FLAG_STATUS = 0x10

UNKNOWN_USER = 0xFF

Unit = Literal["mmHg", "kPa"]
PulseRange = Literal["within", "above", "below", "reserved"]
_PULSE_RANGES: tuple[PulseRange, ...] = ("within", "above", "below", "reserved")


@dataclass(frozen=True, slots=True)
class MeasurementStatus:
    """The Measurement Status field, decoded; ``raw`` keeps the 16 bits as sent."""

    raw: int
    body_movement: bool
    cuff_too_loose: bool
    irregular_pulse: bool
    pulse_range: PulseRange
    improper_position: bool

    @classmethod
    def from_raw(cls, raw: int) -> MeasurementStatus:
        return cls(
            raw=raw,
            body_movement=bool(raw & 0x0001),
            cuff_too_loose=bool(raw & 0x0002),
            irregular_pulse=bool(raw & 0x0004),
            pulse_range=_PULSE_RANGES[(raw >> 3) & 0x03],
            improper_position=bool(raw & 0x0020),
        )

    @classmethod
    def build(
        cls,
        *,
        body_movement: bool = False,
        cuff_too_loose: bool = False,
        irregular_pulse: bool = False,
        pulse_range: PulseRange = "within",
        improper_position: bool = False,
    ) -> MeasurementStatus:
        raw = (
            body_movement * 0x0001
            | cuff_too_loose * 0x0002
            | irregular_pulse * 0x0004
            | _PULSE_RANGES.index(pulse_range) << 3
            | improper_position * 0x0020
        )
        return cls.from_raw(raw)


@dataclass(frozen=True, slots=True)
class Measurement:
    """A Blood Pressure Measurement (0x2A35).

    ``timestamp`` is the device's (naive) clock time when it is complete, else ``None``;
    ``timestamp_fields`` holds whatever parts the device did send (year 0 → ``year=None``).
    """

    systolic: float
    diastolic: float
    mean_arterial_pressure: float
    unit: Unit
    timestamp: datetime | None
    timestamp_fields: DateTime | None
    pulse_rate: float | None
    user_id: int | None
    status: MeasurementStatus | None


@dataclass(frozen=True, slots=True)
class IntermediateCuffPressure:
    """An Intermediate Cuff Pressure notification (0x2A36), sent while the cuff inflates."""

    cuff_pressure: float
    unit: Unit
    timestamp: datetime | None
    timestamp_fields: DateTime | None
    pulse_rate: float | None
    user_id: int | None
    status: MeasurementStatus | None


@dataclass(frozen=True, slots=True)
class _Common:
    values: tuple[float, float, float]
    unit: Unit
    timestamp_fields: DateTime | None
    pulse_rate: float | None
    user_id: int | None
    status: MeasurementStatus | None


def _parse(data: bytes | bytearray | memoryview, *, what: str, names: tuple[str, ...]) -> _Common:
    reader = Reader(data, what=what)
    flags = reader.u8("flags")
    first = reader.sfloat(names[0])
    second = reader.sfloat(names[1])
    third = reader.sfloat(names[2])
    timestamp_fields = read_date_time(reader, "timestamp") if flags & FLAG_TIMESTAMP else None
    pulse_rate = reader.sfloat("pulse_rate") if flags & FLAG_PULSE_RATE else None
    user_id: int | None = None
    if flags & FLAG_USER_ID:
        user_id = reader.u8("user_id")
        if user_id == UNKNOWN_USER:
            user_id = None
    status = MeasurementStatus.from_raw(reader.u16("status")) if flags & FLAG_STATUS else None
    return _Common(
        values=(first, second, third),
        unit="kPa" if flags & FLAG_UNIT_KPA else "mmHg",
        timestamp_fields=timestamp_fields,
        pulse_rate=pulse_rate,
        user_id=user_id,
        status=status,
    )


def parse_measurement(data: bytes | bytearray | memoryview) -> Measurement:
    """Parse a Blood Pressure Measurement (0x2A35). Raises ``ParseError`` on malformed bytes."""
    common = _parse(
        data,
        what="blood pressure measurement",
        names=("systolic", "diastolic", "mean_arterial_pressure"),
    )
    systolic, diastolic, mean_arterial_pressure = common.values
    return Measurement(
        systolic=systolic,
        diastolic=diastolic,
        mean_arterial_pressure=mean_arterial_pressure,
        unit=common.unit,
        timestamp=common.timestamp_fields.to_datetime() if common.timestamp_fields else None,
        timestamp_fields=common.timestamp_fields,
        pulse_rate=common.pulse_rate,
        user_id=common.user_id,
        status=common.status,
    )


def parse_intermediate_cuff_pressure(
    data: bytes | bytearray | memoryview,
) -> IntermediateCuffPressure:
    """Parse an Intermediate Cuff Pressure (0x2A36): the cuff pressure sits in the systolic
    field; the diastolic and mean fields carry NaN and are read but not returned."""
    common = _parse(
        data,
        what="intermediate cuff pressure",
        names=("cuff_pressure", "diastolic_unused", "mean_arterial_pressure_unused"),
    )
    return IntermediateCuffPressure(
        cuff_pressure=common.values[0],
        unit=common.unit,
        timestamp=common.timestamp_fields.to_datetime() if common.timestamp_fields else None,
        timestamp_fields=common.timestamp_fields,
        pulse_rate=common.pulse_rate,
        user_id=common.user_id,
        status=common.status,
    )


def encode_measurement(
    *,
    systolic: float,
    diastolic: float,
    mean_arterial_pressure: float,
    unit: Unit = "mmHg",
    timestamp: datetime | DateTime | None = None,
    pulse_rate: float | None = None,
    user_id: int | None = None,
    status: MeasurementStatus | int | None = None,
) -> bytes:
    """Bytes of a 0x2A35 value, as a cuff would send them (for simulated peripherals).

    Optional fields are written, and their flag set, only when given. ``user_id=0xFF`` writes
    the "unknown user" value.
    """
    flags = FLAG_UNIT_KPA if unit == "kPa" else 0
    body = sfloat.encode(systolic) + sfloat.encode(diastolic)
    body += sfloat.encode(mean_arterial_pressure)
    if timestamp is not None:
        flags |= FLAG_TIMESTAMP
        body += encode_date_time(timestamp)
    if pulse_rate is not None:
        flags |= FLAG_PULSE_RATE
        body += sfloat.encode(pulse_rate)
    if user_id is not None:
        if not 0 <= user_id <= 0xFF:
            raise ValueError(f"user id {user_id} is outside 0..255")
        flags |= FLAG_USER_ID
        body += bytes([user_id])
    if status is not None:
        flags |= FLAG_STATUS
        raw = status.raw if isinstance(status, MeasurementStatus) else status
        body += raw.to_bytes(2, "little")
    return bytes([flags]) + body


def encode_intermediate_cuff_pressure(
    *,
    cuff_pressure: float,
    unit: Unit = "mmHg",
    timestamp: datetime | DateTime | None = None,
    pulse_rate: float | None = None,
    user_id: int | None = None,
    status: MeasurementStatus | int | None = None,
) -> bytes:
    """Bytes of a 0x2A36 value: cuff pressure, then NaN for diastolic and mean."""
    return encode_measurement(
        systolic=cuff_pressure,
        diastolic=float("nan"),
        mean_arterial_pressure=float("nan"),
        unit=unit,
        timestamp=timestamp,
        pulse_rate=pulse_rate,
        user_id=user_id,
        status=status,
    )
