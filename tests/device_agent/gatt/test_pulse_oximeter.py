import contextlib
import itertools
from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from device_agent.gatt import ParseError, pulse_oximeter
from device_agent.gatt.pulse_oximeter import DeviceSensorStatus, MeasurementStatus
from tests.support.gatt import assert_every_truncation_fails, h


def test_minimal_spot_check() -> None:
    s = pulse_oximeter.parse_spot_check(h("00 6100 4800"))
    assert (s.spo2, s.pulse_rate) == (97, 72)
    assert s.timestamp is None and s.measurement_status is None
    assert s.device_sensor_status is None and s.pulse_amplitude_index is None
    assert not s.device_clock_not_set


def test_full_spot_check_literal() -> None:
    data = h("1F 5E00 5000 EA07 0B 16 09 05 01 8000 280000 2DF0")
    s = pulse_oximeter.parse_spot_check(data)
    assert (s.spo2, s.pulse_rate) == (94, 80)
    assert s.timestamp_fields is not None and s.timestamp_fields.year == 2026
    assert s.timestamp is None  # clock not set: the time is kept but not trusted
    assert s.device_clock_not_set
    assert s.measurement_status == MeasurementStatus.VALIDATED_DATA
    assert s.device_sensor_status == (
        DeviceSensorStatus.INADEQUATE_SIGNAL_DETECTED | DeviceSensorStatus.LOW_PERFUSION_DETECTED
    )
    assert s.pulse_amplitude_index == 4.5
    assert_every_truncation_fails(pulse_oximeter.parse_spot_check, data)


def test_spot_check_with_clock_set_gives_timestamp() -> None:
    s = pulse_oximeter.parse_spot_check(h("01 6200 3C00 EA07 0B 16 09 05 01"))
    assert s.timestamp == datetime(2026, 11, 22, 9, 5, 1)


def test_every_spot_check_flag_combination() -> None:
    for with_time, with_ms, with_dss, with_pai, clock_not_set in itertools.product(
        *[(False, True)] * 5
    ):
        data = pulse_oximeter.encode_spot_check(
            spo2=96,
            pulse_rate=64,
            timestamp=datetime(2026, 2, 3, 4, 5, 6) if with_time else None,
            measurement_status=MeasurementStatus.FULLY_QUALIFIED_DATA if with_ms else None,
            device_sensor_status=DeviceSensorStatus.SENSOR_DISPLACED if with_dss else None,
            pulse_amplitude_index=2.3 if with_pai else None,
            device_clock_not_set=clock_not_set,
        )
        assert len(data) == 5 + 7 * with_time + 2 * with_ms + 3 * with_dss + 2 * with_pai
        s = pulse_oximeter.parse_spot_check(data)
        assert (s.spo2, s.pulse_rate) == (96, 64)
        expected_time = datetime(2026, 2, 3, 4, 5, 6) if with_time and not clock_not_set else None
        assert s.timestamp == expected_time
        assert s.measurement_status == (MeasurementStatus.FULLY_QUALIFIED_DATA if with_ms else None)
        assert s.device_sensor_status == (DeviceSensorStatus.SENSOR_DISPLACED if with_dss else None)
        assert s.pulse_amplitude_index == (2.3 if with_pai else None)
        assert s.device_clock_not_set == clock_not_set
        assert_every_truncation_fails(pulse_oximeter.parse_spot_check, data)


def test_device_sensor_status_is_24_bits_and_keeps_reserved_bits() -> None:
    s = pulse_oximeter.parse_spot_check(h("04 6100 4800 008001"))
    assert s.device_sensor_status is not None
    assert DeviceSensorStatus.SENSOR_DISCONNECTED in s.device_sensor_status
    assert int(s.device_sensor_status) == 0x018000


def test_continuous_literal() -> None:
    data = h("1F 6000 4B00 6100 4C00 5F00 4A00 0020 010000 0F00")
    c = pulse_oximeter.parse_continuous(data)
    assert (c.spo2, c.pulse_rate) == (96, 75)
    assert (c.spo2_fast, c.pulse_rate_fast) == (97, 76)
    assert (c.spo2_slow, c.pulse_rate_slow) == (95, 74)
    assert c.measurement_status == MeasurementStatus.MEASUREMENT_UNAVAILABLE
    assert c.device_sensor_status == DeviceSensorStatus.EXTENDED_DISPLAY_UPDATE_ONGOING
    assert c.pulse_amplitude_index == 15
    assert_every_truncation_fails(pulse_oximeter.parse_continuous, data)


def test_every_continuous_flag_combination() -> None:
    for fast, slow, with_ms, with_dss, with_pai in itertools.product(*[(False, True)] * 5):
        data = pulse_oximeter.encode_continuous(
            spo2=95,
            pulse_rate=88,
            fast=(94, 90) if fast else None,
            slow=(96, 86) if slow else None,
            measurement_status=MeasurementStatus.MEASUREMENT_ONGOING if with_ms else None,
            device_sensor_status=DeviceSensorStatus.POOR_SIGNAL_DETECTED if with_dss else None,
            pulse_amplitude_index=1.2 if with_pai else None,
        )
        assert len(data) == 5 + 4 * fast + 4 * slow + 2 * with_ms + 3 * with_dss + 2 * with_pai
        c = pulse_oximeter.parse_continuous(data)
        assert (c.spo2, c.pulse_rate) == (95, 88)
        assert (c.spo2_fast, c.pulse_rate_fast) == ((94, 90) if fast else (None, None))
        assert (c.spo2_slow, c.pulse_rate_slow) == ((96, 86) if slow else (None, None))
        assert c.measurement_status == (MeasurementStatus.MEASUREMENT_ONGOING if with_ms else None)
        assert c.device_sensor_status == (
            DeviceSensorStatus.POOR_SIGNAL_DETECTED if with_dss else None
        )
        assert c.pulse_amplitude_index == (1.2 if with_pai else None)
        assert_every_truncation_fails(pulse_oximeter.parse_continuous, data)


@given(st.binary(max_size=64))
def test_fuzz_spot_check(data: bytes) -> None:
    with contextlib.suppress(ParseError):
        pulse_oximeter.parse_spot_check(data)


@given(st.binary(max_size=64))
def test_fuzz_continuous(data: bytes) -> None:
    with contextlib.suppress(ParseError):
        pulse_oximeter.parse_continuous(data)
