import contextlib
import itertools
import math
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from device_agent.gatt import ParseError, glucose
from device_agent.gatt.glucose import SampleLocation, SampleType, SensorStatus
from tests.support.gatt import assert_every_truncation_fails, h

# flags 0x0B: time offset, concentration (kg/L), sensor status; seq 42; 2026-11-22 07:30:00;
# offset +15 min; 95e-5 kg/L (0xB05F); capillary whole blood on a finger (0x11); battery low.
MG_DL_RECORD = h("0B 2A00 EA07 0B 16 07 1E 00 0F00 5FB0 11 0100")


def test_kg_per_litre_record() -> None:
    m = glucose.parse_measurement(MG_DL_RECORD)
    assert m.sequence_number == 42
    assert m.base_time == datetime(2026, 11, 22, 7, 30)
    assert m.time_offset_minutes == 15
    assert m.timestamp == datetime(2026, 11, 22, 7, 45)
    assert m.concentration == 0.00095
    assert m.unit == "kg/L"
    assert m.mg_dl == 95.0  # exact, no float noise
    assert m.mmol_l == 5.272
    assert m.sample_type is SampleType.CAPILLARY_WHOLE_BLOOD
    assert m.sample_location is SampleLocation.FINGER
    assert not m.is_control_solution
    assert m.sensor_status == SensorStatus.DEVICE_BATTERY_LOW
    assert not m.context_follows
    assert_every_truncation_fails(glucose.parse_measurement, MG_DL_RECORD)


def test_mol_per_litre_record() -> None:
    # 55e-4 mol/L = 5.5 mmol/L; venous plasma (4), alternate site (2).
    data = h("16 0700 EA07 01 02 03 04 05 37C0 24")
    m = glucose.parse_measurement(data)
    assert m.unit == "mol/L"
    assert m.mmol_l == 5.5
    assert m.mg_dl == 99.1  # 5.5 × 18.0182 = 99.1001, rounded to 2 decimals
    assert m.sample_type is SampleType.VENOUS_PLASMA
    assert m.sample_location is SampleLocation.ALTERNATE_SITE_TEST
    assert m.context_follows
    assert m.time_offset_minutes is None
    assert m.timestamp == datetime(2026, 1, 2, 3, 4, 5)
    assert_every_truncation_fails(glucose.parse_measurement, data)


def test_conversion_factor_between_units() -> None:
    low = glucose.parse_measurement(glucose.encode_measurement(
        sequence_number=1, base_time=datetime(2026, 1, 1), concentration=0.003, unit="mol/L"
    ))  # fmt: skip
    assert low.mmol_l == 3.0
    assert low.mg_dl == pytest.approx(54.05, abs=0.01)
    assert low.mg_dl is not None and low.mg_dl >= 54  # level 2 hypoglycaemia is < 54 mg/dL


def test_record_without_concentration() -> None:
    m = glucose.parse_measurement(h("00 0100 0000 00 00 00 00 00"))
    assert m.concentration is None and m.mg_dl is None and m.mmol_l is None
    assert m.sample_type is None and m.type_location_raw is None
    assert m.base_time is None and m.timestamp is None  # meter clock unset
    assert m.sensor_status is None


@pytest.mark.parametrize(
    ("type_location", "control"),
    [(0x1A, True), (0x41, True), (0x4A, True), (0x11, False), (0xF9, False)],
)
def test_control_solution_detection(type_location: int, control: bool) -> None:
    data = h("02 0100 EA07 01 01 00 00 00 5FB0") + bytes([type_location])
    assert glucose.parse_measurement(data).is_control_solution is control


def test_reserved_type_and_location_are_none_but_kept_raw() -> None:
    m = glucose.parse_measurement(h("02 0100 EA07 01 01 00 00 00 5FB0 B0"))
    assert m.sample_type is None and m.sample_location is None
    assert m.type_location_raw == 0xB0
    na = glucose.parse_measurement(h("02 0100 EA07 01 01 00 00 00 5FB0 F9"))
    assert na.sample_location is SampleLocation.NOT_AVAILABLE
    assert na.sample_type is SampleType.INTERSTITIAL_FLUID


def test_nan_concentration_keeps_the_record() -> None:
    m = glucose.parse_measurement(h("02 0100 EA07 01 01 00 00 00 FF07 11"))
    assert m.concentration is not None and math.isnan(m.concentration)
    assert m.mg_dl is not None and math.isnan(m.mg_dl)


def test_negative_time_offset() -> None:
    m = glucose.parse_measurement(h("01 0100 EA07 01 01 00 10 00 F6FF"))
    assert m.time_offset_minutes == -10
    assert m.timestamp == datetime(2026, 1, 1, 0, 6)


def test_offset_past_the_representable_range_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="time_offset"):
        glucose.parse_measurement(h("01 0100 0F27 0C 1F 17 3B 3B FF7F"))


def test_every_measurement_flag_combination() -> None:
    base = datetime(2026, 3, 4, 5, 6, 7)
    for offset, conc, mol, status, context in itertools.product(*[(False, True)] * 5):
        data = glucose.encode_measurement(
            sequence_number=65535,
            base_time=base,
            time_offset_minutes=-90 if offset else None,
            concentration=(0.0061 if mol else 0.0011) if conc else None,
            unit="mol/L" if mol else "kg/L",
            sensor_status=SensorStatus.STRIP_INSERTION_ERROR if status else None,
            context_follows=context,
        )
        assert len(data) == 10 + 2 * offset + 3 * conc + 2 * status
        m = glucose.parse_measurement(data)
        assert m.sequence_number == 65535
        assert m.unit == ("mol/L" if mol else "kg/L")
        assert m.time_offset_minutes == (-90 if offset else None)
        if conc:
            assert (m.mmol_l, m.mg_dl) == ((6.1, 109.91) if mol else (6.105, 110.0))
        else:
            assert m.mg_dl is None
        assert m.sensor_status == (SensorStatus.STRIP_INSERTION_ERROR if status else None)
        assert m.context_follows is context
        assert_every_truncation_fails(glucose.parse_measurement, data)


def test_encode_from_mg_dl() -> None:
    data = glucose.encode_measurement(
        sequence_number=42,
        base_time=datetime(2026, 11, 22, 7, 30),
        time_offset_minutes=15,
        mg_dl=95,
        sensor_status=SensorStatus.DEVICE_BATTERY_LOW,
    )
    assert data == MG_DL_RECORD
    with pytest.raises(ValueError, match="either"):
        glucose.encode_measurement(
            sequence_number=1, base_time=datetime(2026, 1, 1), mg_dl=90, concentration=0.0009
        )


# Every flag (medication in litres); 20e-3 kg carbohydrate; 232e-3 L medication; HbA1c 70 %.
CONTEXT_ALL = h("FF 2A00 00 01 14D0 02 21 0807 32 01 E8D0 4600")


def test_context_with_every_field() -> None:
    c = glucose.parse_context(CONTEXT_ALL)
    assert c.sequence_number == 42
    assert c.extended_flags == 0
    assert c.carbohydrate is glucose.Carbohydrate.BREAKFAST
    assert c.carbohydrate_kg == 0.02
    assert c.meal is glucose.Meal.POSTPRANDIAL
    assert c.tester is glucose.Tester.SELF
    assert c.health is glucose.Health.MAJOR_HEALTH_ISSUES
    assert c.exercise_duration_s == 1800
    assert c.exercise_intensity_percent == 50
    assert c.medication is glucose.Medication.RAPID_ACTING_INSULIN
    assert (c.medication_value, c.medication_unit) == (0.232, "L")
    assert c.hba1c_percent == 70
    assert_every_truncation_fails(glucose.parse_context, CONTEXT_ALL)


def test_context_minimal_and_round_trip() -> None:
    c = glucose.parse_context(h("00 0500"))
    assert c.sequence_number == 5
    assert c.meal is None and c.hba1c_percent is None and c.medication_unit is None
    data = glucose.encode_context(
        sequence_number=9,
        carbohydrate=(glucose.Carbohydrate.LUNCH, 0.045),
        meal=glucose.Meal.PREPRANDIAL,
        tester=glucose.Tester.HEALTH_CARE_PROFESSIONAL,
        exercise=(600, 30),
        medication=(glucose.Medication.LONG_ACTING_INSULIN, 0.00001, "kg"),
        hba1c_percent=6.8,
    )
    c = glucose.parse_context(data)
    assert c.carbohydrate is glucose.Carbohydrate.LUNCH and c.carbohydrate_kg == 0.045
    assert c.meal is glucose.Meal.PREPRANDIAL
    assert c.tester is glucose.Tester.HEALTH_CARE_PROFESSIONAL
    assert c.health is glucose.Health.NOT_AVAILABLE
    assert (c.exercise_duration_s, c.exercise_intensity_percent) == (600, 30)
    assert c.medication is glucose.Medication.LONG_ACTING_INSULIN
    assert (c.medication_value, c.medication_unit) == (0.00001, "kg")
    assert c.hba1c_percent == 6.8
    assert c.extended_flags is None
    assert_every_truncation_fails(glucose.parse_context, data)


def test_context_each_flag_alone() -> None:
    optional = {
        0x01: ("carbohydrate", h("07 1400")),
        0x02: ("meal", h("05")),
        0x04: ("tester", h("F3")),
        0x08: ("exercise_duration_s", h("FFFF 64")),
        0x10: ("medication", h("05 0A00")),
        0x40: ("hba1c_percent", h("3F00")),
        0x80: ("extended_flags", h("00")),
    }
    for flag, (field, body) in optional.items():
        data = bytes([flag]) + h("0100") + body
        parsed = glucose.parse_context(data)
        assert getattr(parsed, field) is not None, field
        assert_every_truncation_fails(glucose.parse_context, data)


@given(st.binary(max_size=64))
def test_fuzz_measurement(data: bytes) -> None:
    with contextlib.suppress(ParseError):
        glucose.parse_measurement(data)


@given(st.binary(max_size=64))
def test_fuzz_context(data: bytes) -> None:
    with contextlib.suppress(ParseError):
        glucose.parse_context(data)
