"""What each device's bytes become on the wire, from literal bytes (no radio).

The byte strings are written out by hand from the Bluetooth GATT specifications and the
vendor's frame layout, not produced by the simulators' encoders, so an encoder and a parser
that agree on a mistake still fail here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

import pytest

from device_agent.ble import payloads
from device_agent.gatt import ParseError, bthome, glucose
from device_agent.gatt.vendor import berrymed
from eldercare_protocol import MeasurementCode, PanicPayload, PressType, VitalsPayload

RECEIVED = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


def values(payload: VitalsPayload) -> dict[MeasurementCode, tuple[float, str]]:
    return {m.code: (m.value, m.unit) for m in payload.measurements}


def test_blood_pressure_with_time_pulse_and_status() -> None:
    # flags 0x16 (time, pulse, status) | 138 | 88 | 120 | 2025-05-01 09:30:00 | 60 | 0x0004
    data = bytes.fromhex("16 8A00 5800 7800 E907 05 01 09 1E 00 3C00 0400")
    payload = payloads.blood_pressure_payload(data, received=RECEIVED)
    assert values(payload) == {
        MeasurementCode.SYSTOLIC: (138, "mm[Hg]"),
        MeasurementCode.DIASTOLIC: (88, "mm[Hg]"),
        MeasurementCode.MEAN_ARTERIAL_PRESSURE: (120, "mm[Hg]"),
        MeasurementCode.PULSE: (60, "/min"),
    }
    assert payload.device_time == datetime(2025, 5, 1, 9, 30)
    assert payload.device_clock_suspect is False
    assert payload.characteristic == "2a35"
    assert payload.raw_hex == data.hex()
    assert payload.flags == {
        "body_movement": False,
        "cuff_too_loose": False,
        "irregular_pulse": True,
        "pulse_range": "within",
        "improper_position": False,
        "status_raw": 4,
    }


def test_blood_pressure_in_kpa_without_a_clock_is_flagged() -> None:
    # flags 0x09 (kPa, user id) | 18.4 | 11.7 | 14.0 | user 2: SFLOAT mantissa 184 exp -1 …
    data = bytes.fromhex("09 B8F0 75F0 8CF0 02")
    payload = payloads.blood_pressure_payload(data, received=RECEIVED)
    assert values(payload)[MeasurementCode.SYSTOLIC] == (18.4, "kPa")
    assert MeasurementCode.PULSE not in values(payload)
    assert payload.device_time is None and payload.device_clock_suspect is True
    assert payload.flags == {"user_id": 2}


def test_spot_check_with_pulse_amplitude_index_and_clock_not_set() -> None:
    # flags 0x18 (PAI, device clock not set) | SpO2 91 | PR 104 | PAI 2.5
    data = bytes.fromhex("18 5B00 6800 19F0")
    payload = payloads.spot_check_payload(data, received=RECEIVED)
    assert values(payload) == {
        MeasurementCode.SPO2: (91, "%"),
        MeasurementCode.PULSE: (104, "/min"),
        MeasurementCode.PULSE_AMPLITUDE_INDEX: (2.5, "%"),
    }
    assert payload.device_clock_suspect is True
    assert payload.characteristic == "2a5e"
    assert payload.flags == {"device_clock_not_set": True}


def test_glucose_record_in_mg_dl_with_its_meal_context() -> None:
    # flags 0x02 (concentration, kg/L) | seq 3 | 2025-05-01 08:00:00 | 54e-5 kg/L | finger, blood
    data = bytes.fromhex("02 0300 E907 05 01 08 00 00 36B0 11")
    context = glucose.parse_context(bytes.fromhex("02 0300 02"))  # meal: postprandial
    payload = payloads.glucose_payload(data, received=RECEIVED, context=context)
    assert payload is not None
    assert values(payload) == {MeasurementCode.GLUCOSE: (54, "mg/dL")}
    assert payload.sequence_number == 3
    assert payload.device_time == datetime(2025, 5, 1, 8, 0)
    assert payload.flags == {
        "sample_type": "capillary_whole_blood",
        "sample_location": "finger",
        "meal": "postprandial",
    }


def test_glucose_control_solution_and_empty_records_are_no_reading() -> None:
    control = bytes.fromhex("02 0400 E907 05 01 08 00 00 36B0 1A")  # type 0xA: control solution
    empty = bytes.fromhex("00 0500 E907 05 01 08 00 00")  # no concentration
    assert payloads.glucose_payload(control, received=RECEIVED) is None
    assert payloads.glucose_payload(empty, received=RECEIVED) is None


def test_glucose_event_id_is_stable_per_device_and_record() -> None:
    data = bytes.fromhex("02 0300 E907 05 01 08 00 00 36B0 11")
    first = payloads.glucose_event_id("C1:B0:0D:00:00:03", data)
    assert first == payloads.glucose_event_id("C1:B0:0D:00:00:03", data)
    assert first != payloads.glucose_event_id("C1:B0:0D:00:00:04", data)
    assert first.version == 5
    assert first != UUID(int=0)


def test_berrymed_window_is_the_median_of_valid_frames() -> None:
    stream = bytes.fromhex(
        "8000004861"  # SpO2 97, PR 72
        "8000004a62"  # SpO2 98, PR 74
        "8000004760"  # SpO2 96, PR 71
        "800000487f"  # SpO2 127: invalid
        "8000407f61"  # PR 255: invalid
        "8000101e3c"  # no finger
    )
    frames = berrymed.FrameParser().feed(stream)
    assert len(frames) == 6
    payload = payloads.oximeter_window_payload(frames, min_valid_frames=3)
    assert payload is not None
    assert values(payload) == {MeasurementCode.SPO2: (97, "%"), MeasurementCode.PULSE: (72, "/min")}
    assert payload.flags == {"frames": 3, "method": "median"}
    assert payload.raw_hex == "8000004760"  # the last valid frame
    assert payloads.oximeter_window_payload(frames, min_valid_frames=4) is None
    assert payloads.oximeter_window_payload(frames[3:], min_valid_frames=0) is None


def test_bthome_presses_become_panics_and_the_test_pattern_a_test() -> None:
    # info 0x44 (v2, trigger-based) | packet 1 | battery 90 % | button: press
    press = bthome.parse(bytes.fromhex("44 0001 015A 3A01"))
    assert payloads.bthome_panics(press, test_press=PressType.TRIPLE) == [
        PanicPayload(source="bthome", press=PressType.SINGLE, test=False)
    ]
    triple = bthome.parse(bytes.fromhex("40 3A03"))
    assert payloads.bthome_panics(triple, test_press=PressType.TRIPLE) == [
        PanicPayload(source="bthome", press=PressType.TRIPLE, test=True)
    ]
    # Two buttons, the first not pressed: one panic, for the long press.
    two = bthome.parse(bytes.fromhex("40 3A00 3A04"))
    assert payloads.bthome_panics(two, test_press=None) == [
        PanicPayload(source="bthome", press=PressType.LONG, test=False)
    ]
    assert payloads.bthome_panics(bthome.parse(bytes.fromhex("40 0107")), test_press=None) == []


def test_itag_press_is_a_single_press_panic_and_anything_else_an_error() -> None:
    assert payloads.itag_panic(b"\x01") == PanicPayload(source="itag", press=PressType.SINGLE)
    for bad in (b"", b"\x02", b"\x01\x01"):
        with pytest.raises(ParseError):
            payloads.itag_panic(bad)


@pytest.mark.parametrize(
    "function",
    [payloads.blood_pressure_payload, payloads.spot_check_payload, payloads.glucose_payload],
)
def test_truncated_values_are_parse_errors(function: Callable[..., object]) -> None:
    with pytest.raises(ParseError):
        function(bytes.fromhex("16 8A"), received=RECEIVED)


def test_clock_suspect() -> None:
    assert payloads.clock_suspect(None, received=RECEIVED)
    assert not payloads.clock_suspect(datetime(2025, 5, 1, 9, 0), received=RECEIVED)
    assert payloads.clock_suspect(datetime(2025, 5, 1, 13, 0, tzinfo=UTC), received=RECEIVED)
    assert payloads.clock_suspect(datetime(2000, 1, 1), received=RECEIVED)


KEY = "231d39c1d7cc1ab1aee224cd096db932"
MAC = "C1:B0:0D:00:00:07"


def test_bthome_security_rules() -> None:
    check = payloads.bthome_security
    plain = bthome.parse(bytes.fromhex("44 0001 3A01"))
    sealed = bthome.parse(
        bthome.encode(
            packet_id=1,
            button_events=[bthome.ButtonEvent.PRESS],
            bind_key=KEY,
            mac=MAC,
            counter=500,
        ),
        bind_key=KEY,
        mac=MAC,
    )
    assert check(plain, keyed=True, last_counter=None) is payloads.BthomeCheck.DOWNGRADE
    assert check(plain, keyed=False, last_counter=None) is payloads.BthomeCheck.ACCEPT
    assert check(sealed, keyed=True, last_counter=None) is payloads.BthomeCheck.ACCEPT
    assert check(sealed, keyed=True, last_counter=499) is payloads.BthomeCheck.ACCEPT
    assert check(sealed, keyed=True, last_counter=500) is payloads.BthomeCheck.REPEAT
    assert check(sealed, keyed=True, last_counter=501) is payloads.BthomeCheck.REPLAY
    restarted = bthome.parse(
        bthome.encode(
            packet_id=1, bind_key=KEY, mac=MAC, counter=payloads.COUNTER_RESTART_BELOW - 1
        ),
        bind_key=KEY,
        mac=MAC,
    )
    assert check(restarted, keyed=True, last_counter=70_000) is payloads.BthomeCheck.ACCEPT
