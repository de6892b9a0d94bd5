import contextlib
import itertools
import math
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from device_agent.gatt import ParseError, blood_pressure
from device_agent.gatt.date_time import DateTime
from tests.support.gatt import assert_every_truncation_fails, h

PUBLISHED = h("1E 8A00 5800 7800 0000 04 11 14 29 3B 3C00 01 2700")


def test_published_vector() -> None:
    m = blood_pressure.parse_measurement(PUBLISHED)
    assert (m.systolic, m.diastolic, m.mean_arterial_pressure) == (138, 88, 120)
    assert m.unit == "mmHg"
    assert m.timestamp is None  # year unknown
    assert m.timestamp_fields == DateTime(None, 4, 17, 20, 41, 59)
    assert m.pulse_rate == 60
    assert m.user_id == 1
    assert m.status is not None
    assert m.status.raw == 0x0027
    assert m.status.body_movement
    assert m.status.cuff_too_loose
    assert m.status.irregular_pulse
    assert m.status.pulse_range == "within"
    assert m.status.improper_position
    assert m.status.as_flags() == {
        "body_movement": True,
        "cuff_too_loose": True,
        "irregular_pulse": True,
        "pulse_range": "within",
        "improper_position": True,
    }


def test_minimal_kpa_measurement() -> None:
    m = blood_pressure.parse_measurement(h("01 B8F0 7DF0 FF07"))
    assert m.unit == "kPa"
    assert (m.systolic, m.diastolic) == (18.4, 12.5)
    assert math.isnan(m.mean_arterial_pressure)  # NaN keeps the rest of the reading
    assert m.timestamp is None and m.timestamp_fields is None
    assert m.pulse_rate is None and m.user_id is None and m.status is None


def test_unknown_user_is_none() -> None:
    assert blood_pressure.parse_measurement(h("08 7800 5000 5A00 FF")).user_id is None
    assert blood_pressure.parse_measurement(h("08 7800 5000 5A00 00")).user_id == 0


@pytest.mark.parametrize(
    ("raw", "pulse_range"), [(0x00, "within"), (0x08, "above"), (0x10, "below"), (0x18, "reserved")]
)
def test_pulse_range(raw: int, pulse_range: str) -> None:
    status = blood_pressure.MeasurementStatus.from_raw(raw)
    assert status.pulse_range == pulse_range
    assert not (status.body_movement or status.irregular_pulse or status.improper_position)


def test_complete_timestamp() -> None:
    m = blood_pressure.parse_measurement(h("02 7800 5000 5A00 EA07 0B 16 09 05 01"))
    assert m.timestamp == datetime(2026, 11, 22, 9, 5, 1)


def test_reserved_flag_bits_and_trailing_bytes_are_ignored() -> None:
    m = blood_pressure.parse_measurement(h("E0 7800 5000 5A00 AABB"))
    assert (m.systolic, m.pulse_rate) == (120, None)


def test_published_vector_truncations() -> None:
    assert_every_truncation_fails(blood_pressure.parse_measurement, PUBLISHED)


def test_truncation_names_the_missing_field() -> None:
    with pytest.raises(ParseError) as caught:
        blood_pressure.parse_measurement(PUBLISHED[:15])
    assert caught.value.field == "pulse_rate"
    assert caught.value.offset == 14
    assert "blood pressure measurement" in str(caught.value)


def test_bad_timestamp_is_a_parse_error_naming_it() -> None:
    with pytest.raises(ParseError) as caught:
        blood_pressure.parse_measurement(h("02 7800 5000 5A00 EA07 0D 16 09 05 01"))
    assert caught.value.field == "timestamp.month"
    assert caught.value.offset == 9


def test_every_flag_combination_changes_layout_and_round_trips() -> None:
    flags = (False, True)
    for unit, with_time, with_pulse, with_user, with_status in itertools.product(
        ("mmHg", "kPa"), flags, flags, flags, flags
    ):
        data = blood_pressure.encode_measurement(
            systolic=141,
            diastolic=92,
            mean_arterial_pressure=108.3,
            unit=unit,  # type: ignore[arg-type]
            timestamp=datetime(2026, 1, 31, 23, 59, 58) if with_time else None,
            pulse_rate=72 if with_pulse else None,
            user_id=3 if with_user else None,
            status=(
                blood_pressure.MeasurementStatus.build(irregular_pulse=True, pulse_range="above")
                if with_status
                else None
            ),
        )
        assert len(data) == 7 + 7 * with_time + 2 * with_pulse + with_user + 2 * with_status
        m = blood_pressure.parse_measurement(data)
        assert (m.systolic, m.diastolic, m.mean_arterial_pressure, m.unit) == (
            141,
            92,
            108.3,
            unit,
        )
        assert m.timestamp == (datetime(2026, 1, 31, 23, 59, 58) if with_time else None)
        assert m.pulse_rate == (72 if with_pulse else None)
        assert m.user_id == (3 if with_user else None)
        if with_status:
            assert m.status is not None
            assert m.status.irregular_pulse and m.status.pulse_range == "above"
            assert not m.status.body_movement
        else:
            assert m.status is None
        assert_every_truncation_fails(blood_pressure.parse_measurement, data)


def test_encode_reproduces_the_published_vector() -> None:
    data = blood_pressure.encode_measurement(
        systolic=138,
        diastolic=88,
        mean_arterial_pressure=120,
        timestamp=DateTime(None, 4, 17, 20, 41, 59),
        pulse_rate=60,
        user_id=1,
        status=0x0027,
    )
    assert data == PUBLISHED


def test_intermediate_cuff_pressure() -> None:
    data = blood_pressure.encode_intermediate_cuff_pressure(cuff_pressure=152, pulse_rate=70)
    assert data == h("04 9800 FF07 FF07 4600")
    cuff = blood_pressure.parse_intermediate_cuff_pressure(data)
    assert cuff.cuff_pressure == 152
    assert cuff.pulse_rate == 70
    assert cuff.unit == "mmHg"
    assert_every_truncation_fails(blood_pressure.parse_intermediate_cuff_pressure, data)


def test_encode_rejects_bad_user_id() -> None:
    with pytest.raises(ValueError, match="user id"):
        blood_pressure.encode_measurement(
            systolic=1, diastolic=1, mean_arterial_pressure=1, user_id=256
        )


@given(st.binary(max_size=64))
def test_fuzz_measurement(data: bytes) -> None:
    with contextlib.suppress(ParseError):
        blood_pressure.parse_measurement(data)


@given(st.binary(max_size=64))
def test_fuzz_intermediate(data: bytes) -> None:
    with contextlib.suppress(ParseError):
        blood_pressure.parse_intermediate_cuff_pressure(data)
