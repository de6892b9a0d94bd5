"""From the bytes a device sends to the wire contract's payloads: pure functions.

The drivers only move bytes (connect, subscribe, wait); everything that decides what a
reading or a press *is* lives here, so it is tested from literal bytes with no radio. Each
function raises ``ParseError`` on malformed bytes, as the parsers below it do.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from uuid import UUID, uuid5

from device_agent.gatt import blood_pressure, bthome, buttons, glucose, pulse_oximeter
from device_agent.gatt.vendor import berrymed
from eldercare_protocol import Measurement, MeasurementCode, PanicPayload, PressType, VitalsPayload

_BP_UNITS = {"mmHg": "mm[Hg]", "kPa": "kPa"}
GLUCOSE_NAMESPACE = UUID("0f7c4e52-3a59-4d0e-9a55-1c1f3d2b6a10")
MEAL_NAMES = {1: "preprandial", 2: "postprandial", 3: "fasting", 4: "casual", 5: "bedtime"}
# Fewer valid frames than this in a window (about half a second of signal) → no reading.
MIN_VALID_FRAMES = 50


def clock_suspect(device_time: datetime | None, *, received: datetime) -> bool:
    """A device clock that is unset or implausible is flagged, never trusted.

    Stored readings may be days old; a reading from the future or from over a year ago
    means the clock was never set (or was reset by a battery change).
    """
    if device_time is None:
        return True
    aware = device_time if device_time.tzinfo else device_time.replace(tzinfo=UTC)
    return aware > received + timedelta(minutes=10) or aware < received - timedelta(days=365)


def blood_pressure_payload(data: bytes, *, received: datetime) -> VitalsPayload:
    """One Blood Pressure Measurement (0x2A35)."""
    reading = blood_pressure.parse_measurement(data)
    unit = _BP_UNITS[reading.unit]
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
        flags.update(reading.status.as_flags())
        flags["status_raw"] = reading.status.raw
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


def spot_check_payload(data: bytes, *, received: datetime) -> VitalsPayload:
    """One PLX Spot-check Measurement (0x2A5E)."""
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


def glucose_payload(
    data: bytes, *, received: datetime, context: glucose.Context | None = None
) -> VitalsPayload | None:
    """One Glucose Measurement (0x2A18) with its context (0x2A34) if the meter sent one.

    ``None`` for a record that is no reading of the elder: a control-solution check, or a
    record with no concentration.
    """
    record = glucose.parse_measurement(data)
    if record.is_control_solution or record.mg_dl is None:
        return None
    flags: dict[str, bool | int | str] = {}
    if record.sample_type is not None:
        flags["sample_type"] = record.sample_type.name.lower()
    if record.sample_location is not None:
        flags["sample_location"] = record.sample_location.name.lower()
    if record.sensor_status:
        flags["sensor_status"] = int(record.sensor_status)
    if context is not None and context.meal is not None:
        flags["meal"] = MEAL_NAMES.get(int(context.meal), str(int(context.meal)))
    return VitalsPayload(
        measurements=[
            Measurement(code=MeasurementCode.GLUCOSE, value=round(record.mg_dl, 1), unit="mg/dL")
        ],
        device_time=record.timestamp,
        device_clock_suspect=clock_suspect(record.timestamp, received=received),
        characteristic="2a18",
        raw_hex=bytes(data).hex(),
        flags=flags,
        sequence_number=record.sequence_number,
    )


def glucose_event_id(device: str, data: bytes) -> UUID:
    """A stable event id for a stored glucose record.

    If the hub dies between handing the event over and saving the sequence number, the
    record is fetched and sent again with the same idempotency key, and stored once.
    """
    sequence = glucose.parse_measurement(data).sequence_number
    return uuid5(GLUCOSE_NAMESPACE, f"{device}/{sequence}/{bytes(data).hex()}")


def oximeter_window_payload(
    frames: Sequence[berrymed.Frame], *, min_valid_frames: int = MIN_VALID_FRAMES
) -> VitalsPayload | None:
    """One reading for a window of BerryMed frames: the median of the valid ones.

    A single glitch or a finger being repositioned does not become a clinical number; fewer
    than ``min_valid_frames`` valid frames give no reading at all.
    """
    valid = [frame for frame in frames if frame.valid]
    if not valid or len(valid) < min_valid_frames:
        return None
    spo2 = statistics.median_low(f.spo2 for f in valid if f.spo2 is not None)
    pulse = statistics.median_low(f.pulse_rate for f in valid if f.pulse_rate is not None)
    return VitalsPayload(
        measurements=[
            Measurement(code=MeasurementCode.SPO2, value=spo2, unit="%"),
            Measurement(code=MeasurementCode.PULSE, value=pulse, unit="/min"),
        ],
        characteristic=berrymed.NOTIFY_CHARACTERISTIC_UUID,
        raw_hex=valid[-1].raw.hex(),
        flags={"frames": len(valid), "method": "median"},
    )


def bthome_panics(packet: bthome.Packet, *, test_press: PressType | None) -> list[PanicPayload]:
    """One panic per press in a BTHome packet; the configured test pattern is a test."""
    panics: list[PanicPayload] = []
    for event in packet.pressed:
        press = event.press_type
        if press is None:
            continue
        press_type = PressType(press)
        panics.append(
            PanicPayload(source="bthome", press=press_type, test=press_type == test_press)
        )
    return panics


# A counter below this that goes backwards is a button starting again from zero (a battery
# change, or the 32-bit counter wrapping), not a replay. Home Assistant's BTHome receiver
# draws the same line; a replay of an advert captured in the first 100 after a reset is the
# price of never locking out a button whose battery was changed.
COUNTER_RESTART_BELOW = 100


class BthomeCheck(StrEnum):
    ACCEPT = "accept"
    # The same encrypted advert again (a device repeats each one): nothing new.
    REPEAT = "repeat"
    # Plaintext from a button that has a bind key: anyone can send that.
    DOWNGRADE = "downgrade"
    # An encrypted advert older than one already accepted.
    REPLAY = "replay"


def bthome_security(packet: bthome.Packet, *, keyed: bool, last_counter: int | None) -> BthomeCheck:
    """The BTHome encryption rules for a receiver that holds a bind key.

    It must refuse data that is not encrypted, and an encryption counter that does not
    increase (https://bthome.io/encryption/). ``last_counter`` is the counter of the last
    advert accepted from this button, ``None`` before the first.
    """
    if keyed and not packet.encrypted:
        return BthomeCheck.DOWNGRADE
    if packet.counter is None or last_counter is None or packet.counter > last_counter:
        return BthomeCheck.ACCEPT
    if packet.counter == last_counter:
        return BthomeCheck.REPEAT
    if packet.counter < COUNTER_RESTART_BELOW:
        return BthomeCheck.ACCEPT
    return BthomeCheck.REPLAY


def itag_panic(data: bytes) -> PanicPayload:
    """An iTag 0xFFE1 notification: every press is a panic (the tag has no press types)."""
    buttons.parse_itag(data)
    return PanicPayload(source="itag", press=PressType.SINGLE)
