"""Glucose service 0x1808: Glucose Measurement 0x2A18 and Glucose Measurement Context 0x2A34.

Measurement: flags | sequence u16 | base time (Date Time) | [time offset s16 minutes, b0] |
[concentration SFLOAT + type/location u8, b1] | [sensor status annunciation u16, b3].
Flag b2: concentration unit (0 kg/L, 1 mol/L); b4: a context record with the same sequence
number follows.

Both ``mg_dl`` and ``mmol_l`` are always filled when a concentration is present: the unit the
meter sent is converted exactly by decimal scaling (kg/L × 100,000 = mg/dL; mol/L × 1,000 =
mmol/L) and the other unit through 18.0182 mg/dL per mmol/L, rounded to 2 decimals (mg/dL) or
3 decimals (mmol/L) — more precision than any meter has.

Record transfer uses the Record Access Control Point: see ``device_agent.gatt.racp``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum, IntFlag
from typing import Literal, TypeVar

from device_agent.gatt import racp, sfloat
from device_agent.gatt._reader import Reader
from device_agent.gatt.date_time import DateTime, encode_date_time, read_date_time

__all__ = [
    "Carbohydrate",
    "Context",
    "Health",
    "Meal",
    "Measurement",
    "Medication",
    "SampleLocation",
    "SampleType",
    "SensorStatus",
    "Tester",
    "encode_context",
    "encode_measurement",
    "parse_context",
    "parse_measurement",
    "racp",
]

SERVICE_UUID = 0x1808
MEASUREMENT_UUID = 0x2A18
CONTEXT_UUID = 0x2A34
FEATURE_UUID = 0x2A51
RACP_UUID = racp.UUID

MG_DL_PER_MMOL_L = 18.0182

_E = TypeVar("_E", bound=IntEnum)

FLAG_TIME_OFFSET = 0x01
FLAG_CONCENTRATION = 0x02
FLAG_UNIT_MOL_L = 0x04
FLAG_SENSOR_STATUS = 0x08
FLAG_CONTEXT_FOLLOWS = 0x10

CONTEXT_FLAG_CARBOHYDRATE = 0x01
CONTEXT_FLAG_MEAL = 0x02
CONTEXT_FLAG_TESTER_HEALTH = 0x04
CONTEXT_FLAG_EXERCISE = 0x08
CONTEXT_FLAG_MEDICATION = 0x10
CONTEXT_FLAG_MEDICATION_LITRES = 0x20
CONTEXT_FLAG_HBA1C = 0x40
CONTEXT_FLAG_EXTENDED = 0x80

ConcentrationUnit = Literal["kg/L", "mol/L"]


class SampleType(IntEnum):
    CAPILLARY_WHOLE_BLOOD = 1
    CAPILLARY_PLASMA = 2
    VENOUS_WHOLE_BLOOD = 3
    VENOUS_PLASMA = 4
    ARTERIAL_WHOLE_BLOOD = 5
    ARTERIAL_PLASMA = 6
    UNDETERMINED_WHOLE_BLOOD = 7
    UNDETERMINED_PLASMA = 8
    INTERSTITIAL_FLUID = 9
    CONTROL_SOLUTION = 10


class SampleLocation(IntEnum):
    FINGER = 1
    ALTERNATE_SITE_TEST = 2
    EARLOBE = 3
    CONTROL_SOLUTION = 4
    NOT_AVAILABLE = 15


class SensorStatus(IntFlag):
    """Sensor Status Annunciation (u16); bits 12–15 are reserved."""

    DEVICE_BATTERY_LOW = 1 << 0
    SENSOR_MALFUNCTION = 1 << 1
    SAMPLE_SIZE_INSUFFICIENT = 1 << 2
    STRIP_INSERTION_ERROR = 1 << 3
    STRIP_TYPE_INCORRECT = 1 << 4
    RESULT_TOO_HIGH = 1 << 5
    RESULT_TOO_LOW = 1 << 6
    SENSOR_TEMPERATURE_TOO_HIGH = 1 << 7
    SENSOR_TEMPERATURE_TOO_LOW = 1 << 8
    SENSOR_READ_INTERRUPTED = 1 << 9
    GENERAL_DEVICE_FAULT = 1 << 10
    TIME_FAULT = 1 << 11


class Carbohydrate(IntEnum):
    BREAKFAST = 1
    LUNCH = 2
    DINNER = 3
    SNACK = 4
    DRINK = 5
    SUPPER = 6
    BRUNCH = 7


class Meal(IntEnum):
    PREPRANDIAL = 1
    POSTPRANDIAL = 2
    FASTING = 3
    CASUAL = 4
    BEDTIME = 5


class Tester(IntEnum):
    SELF = 1
    HEALTH_CARE_PROFESSIONAL = 2
    LAB_TEST = 3
    NOT_AVAILABLE = 15


class Health(IntEnum):
    MINOR_HEALTH_ISSUES = 1
    MAJOR_HEALTH_ISSUES = 2
    DURING_MENSES = 3
    UNDER_STRESS = 4
    NO_HEALTH_ISSUES = 5
    NOT_AVAILABLE = 15


class Medication(IntEnum):
    RAPID_ACTING_INSULIN = 1
    SHORT_ACTING_INSULIN = 2
    INTERMEDIATE_ACTING_INSULIN = 3
    LONG_ACTING_INSULIN = 4
    PRE_MIXED_INSULIN = 5


def _member(enum: type[_E], value: int) -> _E | None:
    """The enum member, or ``None`` for a reserved value (kept raw by the caller)."""
    return enum(value) if value in enum._value2member_map_ else None


@dataclass(frozen=True, slots=True)
class Measurement:
    """A Glucose Measurement (0x2A18).

    ``timestamp`` is ``base_time`` plus ``time_offset_minutes`` (``None`` when the base time is
    incomplete). ``sample_type``/``sample_location`` are ``None`` for reserved codes, which
    ``type_location_raw`` keeps.
    """

    sequence_number: int
    base_time: datetime | None
    base_time_fields: DateTime
    time_offset_minutes: int | None
    timestamp: datetime | None
    concentration: float | None
    unit: ConcentrationUnit
    mg_dl: float | None
    mmol_l: float | None
    sample_type: SampleType | None
    sample_location: SampleLocation | None
    type_location_raw: int | None
    is_control_solution: bool
    sensor_status: SensorStatus | None
    context_follows: bool


def parse_measurement(data: bytes | bytearray | memoryview) -> Measurement:
    """Parse a Glucose Measurement. Raises ``ParseError`` on malformed bytes."""
    reader = Reader(data, what="glucose measurement")
    flags = reader.u8("flags")
    sequence_number = reader.u16("sequence_number")
    base_time_fields = read_date_time(reader, "base_time")
    time_offset = reader.s16("time_offset") if flags & FLAG_TIME_OFFSET else None
    unit: ConcentrationUnit = "mol/L" if flags & FLAG_UNIT_MOL_L else "kg/L"
    concentration = mg_dl = mmol_l = None
    sample_type = sample_location = None
    type_location: int | None = None
    if flags & FLAG_CONCENTRATION:
        raw = reader.u16("concentration")
        concentration = sfloat.decode(raw)
        if unit == "kg/L":
            mg_dl = sfloat.decode(raw, scale=5)
            mmol_l = round(mg_dl / MG_DL_PER_MMOL_L, 3)
        else:
            mmol_l = sfloat.decode(raw, scale=3)
            mg_dl = round(mmol_l * MG_DL_PER_MMOL_L, 2)
        type_location = reader.u8("type_sample_location")
        sample_type = _member(SampleType, type_location & 0x0F)
        sample_location = _member(SampleLocation, type_location >> 4)
    sensor_status = (
        SensorStatus(reader.u16("sensor_status")) if flags & FLAG_SENSOR_STATUS else None
    )
    base_time = base_time_fields.to_datetime()
    timestamp = None
    if base_time is not None:
        try:
            timestamp = base_time + timedelta(minutes=time_offset or 0)
        except OverflowError:
            raise reader.error(
                "base time plus offset is outside the representable dates", field="time_offset"
            ) from None
    return Measurement(
        sequence_number=sequence_number,
        base_time=base_time,
        base_time_fields=base_time_fields,
        time_offset_minutes=time_offset,
        timestamp=timestamp,
        concentration=concentration,
        unit=unit,
        mg_dl=mg_dl,
        mmol_l=mmol_l,
        sample_type=sample_type,
        sample_location=sample_location,
        type_location_raw=type_location,
        is_control_solution=(
            sample_type is SampleType.CONTROL_SOLUTION
            or sample_location is SampleLocation.CONTROL_SOLUTION
        ),
        sensor_status=sensor_status,
        context_follows=bool(flags & FLAG_CONTEXT_FOLLOWS),
    )


def encode_measurement(
    *,
    sequence_number: int,
    base_time: datetime | DateTime,
    time_offset_minutes: int | None = None,
    concentration: float | None = None,
    unit: ConcentrationUnit = "kg/L",
    mg_dl: float | None = None,
    sample_type: int = SampleType.CAPILLARY_WHOLE_BLOOD,
    sample_location: int = SampleLocation.FINGER,
    sensor_status: int | None = None,
    context_follows: bool = False,
) -> bytes:
    """Bytes of a 0x2A18 value, as a meter would send them (for simulated peripherals).

    Give the concentration in the meter's unit, or ``mg_dl=`` to have it written in kg/L.
    """
    if mg_dl is not None:
        if concentration is not None:
            raise ValueError("give either concentration or mg_dl, not both")
        # Decimal scaling keeps 95 mg/dL as 95e-5 kg/L, not a rounded binary fraction.
        concentration = sfloat.decode(sfloat.encode_raw(mg_dl), scale=-5)
        unit = "kg/L"
    if not 0 <= sequence_number <= 0xFFFF:
        raise ValueError(f"sequence number {sequence_number} is outside 0..65535")
    flags = FLAG_UNIT_MOL_L if unit == "mol/L" else 0
    body = sequence_number.to_bytes(2, "little") + encode_date_time(base_time)
    if time_offset_minutes is not None:
        flags |= FLAG_TIME_OFFSET
        body += time_offset_minutes.to_bytes(2, "little", signed=True)
    if concentration is not None:
        flags |= FLAG_CONCENTRATION
        if not (0 <= sample_type <= 15 and 0 <= sample_location <= 15):
            raise ValueError("sample type and location are 4-bit codes")
        body += sfloat.encode(concentration) + bytes([sample_location << 4 | sample_type])
    if sensor_status is not None:
        flags |= FLAG_SENSOR_STATUS
        body += int(sensor_status).to_bytes(2, "little")
    if context_follows:
        flags |= FLAG_CONTEXT_FOLLOWS
    return bytes([flags]) + body


@dataclass(frozen=True, slots=True)
class Context:
    """A Glucose Measurement Context (0x2A34); every field but the sequence number is optional.

    Enum fields are ``None`` when absent or a reserved code; ``flags`` shows which were sent.
    ``exercise_duration_s`` of 65535 means "overrun" as the specification defines it.
    """

    sequence_number: int
    flags: int
    extended_flags: int | None
    carbohydrate: Carbohydrate | None
    carbohydrate_kg: float | None
    meal: Meal | None
    tester: Tester | None
    health: Health | None
    exercise_duration_s: int | None
    exercise_intensity_percent: int | None
    medication: Medication | None
    medication_value: float | None
    medication_unit: Literal["kg", "L"] | None
    hba1c_percent: float | None


def parse_context(data: bytes | bytearray | memoryview) -> Context:
    """Parse a Glucose Measurement Context. Raises ``ParseError`` on malformed bytes."""
    reader = Reader(data, what="glucose measurement context")
    flags = reader.u8("flags")
    sequence_number = reader.u16("sequence_number")
    extended_flags = reader.u8("extended_flags") if flags & CONTEXT_FLAG_EXTENDED else None
    carbohydrate = carbohydrate_kg = None
    if flags & CONTEXT_FLAG_CARBOHYDRATE:
        carbohydrate = _member(Carbohydrate, reader.u8("carbohydrate_id"))
        carbohydrate_kg = reader.sfloat("carbohydrate")
    meal = _member(Meal, reader.u8("meal")) if flags & CONTEXT_FLAG_MEAL else None
    tester = health = None
    if flags & CONTEXT_FLAG_TESTER_HEALTH:
        tester_health = reader.u8("tester_health")
        tester = _member(Tester, tester_health & 0x0F)
        health = _member(Health, tester_health >> 4)
    exercise_duration = exercise_intensity = None
    if flags & CONTEXT_FLAG_EXERCISE:
        exercise_duration = reader.u16("exercise_duration")
        exercise_intensity = reader.u8("exercise_intensity")
    medication = medication_value = None
    medication_unit: Literal["kg", "L"] | None = None
    if flags & CONTEXT_FLAG_MEDICATION:
        medication = _member(Medication, reader.u8("medication_id"))
        medication_value = reader.sfloat("medication")
        medication_unit = "L" if flags & CONTEXT_FLAG_MEDICATION_LITRES else "kg"
    hba1c = reader.sfloat("hba1c") if flags & CONTEXT_FLAG_HBA1C else None
    return Context(
        sequence_number=sequence_number,
        flags=flags,
        extended_flags=extended_flags,
        carbohydrate=carbohydrate,
        carbohydrate_kg=carbohydrate_kg,
        meal=meal,
        tester=tester,
        health=health,
        exercise_duration_s=exercise_duration,
        exercise_intensity_percent=exercise_intensity,
        medication=medication,
        medication_value=medication_value,
        medication_unit=medication_unit,
        hba1c_percent=hba1c,
    )


def encode_context(
    *,
    sequence_number: int,
    extended_flags: int | None = None,
    carbohydrate: tuple[int, float] | None = None,
    meal: int | None = None,
    tester: int | None = None,
    health: int | None = None,
    exercise: tuple[int, int] | None = None,
    medication: tuple[int, float, Literal["kg", "L"]] | None = None,
    hba1c_percent: float | None = None,
) -> bytes:
    """Bytes of a 0x2A34 value; tester and health share one byte (both default to 15, n/a)."""
    flags = 0
    body = sequence_number.to_bytes(2, "little")
    if extended_flags is not None:
        flags |= CONTEXT_FLAG_EXTENDED
        body += bytes([extended_flags])
    if carbohydrate is not None:
        flags |= CONTEXT_FLAG_CARBOHYDRATE
        body += bytes([carbohydrate[0]]) + sfloat.encode(carbohydrate[1])
    if meal is not None:
        flags |= CONTEXT_FLAG_MEAL
        body += bytes([meal])
    if tester is not None or health is not None:
        flags |= CONTEXT_FLAG_TESTER_HEALTH
        tester_code = Tester.NOT_AVAILABLE if tester is None else tester
        health_code = Health.NOT_AVAILABLE if health is None else health
        body += bytes([health_code << 4 | tester_code])
    if exercise is not None:
        flags |= CONTEXT_FLAG_EXERCISE
        body += exercise[0].to_bytes(2, "little") + bytes([exercise[1]])
    if medication is not None:
        flags |= CONTEXT_FLAG_MEDICATION
        if medication[2] == "L":
            flags |= CONTEXT_FLAG_MEDICATION_LITRES
        body += bytes([medication[0]]) + sfloat.encode(medication[1])
    if hba1c_percent is not None:
        flags |= CONTEXT_FLAG_HBA1C
        body += sfloat.encode(hba1c_percent)
    return bytes([flags]) + body
