import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from device_agent.gatt import ParseError, sfloat


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (0x0062, 98.0),
        (0xF0B8, 18.4),
        (0xB064, 0.001),
        (0x0FFF, -1.0),
        (0x0000, 0.0),
        (0x0078, 120.0),
        (0x1001, 10.0),
        (0x7001, 10_000_000.0),
        (0x87FD, 2045e-8),
        (0x0801 + 0x1000, -2047e1),  # mantissa -2047 is a plain number with exponent 1
        (0xF800, -204.8),
    ],
)
def test_published_and_boundary_values(raw: int, expected: float) -> None:
    assert sfloat.decode(raw) == expected
    assert sfloat.decode(raw.to_bytes(2, "little")) == expected


def test_no_float_noise() -> None:
    # 184 * 0.1 would be 18.400000000000002; decimal scaling gives the double nearest 18.4.
    assert repr(sfloat.decode(0xF0B8)) == "18.4"
    assert repr(sfloat.decode(0xB064)) == "0.001"
    assert repr(sfloat.decode(0xF0B8, scale=5)) == "1840000.0"
    assert repr(sfloat.decode(0xB05F, scale=5)) == "95.0"  # glucose 95e-5 kg/L in mg/dL


def test_exponent_is_signed_not_biased() -> None:
    """The pitfall seen in a third-party package: treating the exponent as biased (or unsigned)."""

    def biased(raw: int) -> float:
        mantissa = raw & 0x0FFF
        mantissa = mantissa - 0x1000 if mantissa >= 0x800 else mantissa
        return mantissa * 10.0 ** ((raw >> 12) - 8)

    def unsigned(raw: int) -> float:
        return (raw & 0x0FFF) * 10.0 ** (raw >> 12)

    for raw, expected in [(0xF0B8, 18.4), (0xB064, 0.001), (0x0FFF, -1.0)]:
        assert sfloat.decode(raw) == expected
        assert not math.isclose(biased(raw), expected)
        if raw >> 12:
            assert not math.isclose(unsigned(raw), expected)
    # And a blood pressure of 120 mmHg must not become 120e-8.
    assert sfloat.decode(0x0078) == 120.0


def test_special_values() -> None:
    assert math.isnan(sfloat.decode(0x07FF))
    assert math.isnan(sfloat.decode(0x0800))
    assert math.isnan(sfloat.decode(0x0801))  # reserved: documented as NaN
    assert sfloat.decode(0x07FE) == math.inf
    assert sfloat.decode(0x0802) == -math.inf


@pytest.mark.parametrize("bad", [-1, 0x10000, b"", b"\x01", b"\x01\x02\x03", "0062", 1.5, True])
def test_bad_input_is_a_parse_error(bad: object) -> None:
    with pytest.raises(ParseError, match="SFLOAT"):
        sfloat.decode(bad)  # type: ignore[arg-type]


def test_encode_prefers_exact_natural_exponent() -> None:
    assert sfloat.encode_raw(120) == 0x0078
    assert sfloat.encode_raw(18.4) == 0xF0B8
    assert sfloat.encode_raw(98) == 0x0062
    assert sfloat.encode_raw(-1) == 0x0FFF
    assert sfloat.encode(0.001, exponent=-5) == b"\x64\xb0"
    assert sfloat.encode(18.4) == b"\xb8\xf0"


def test_encode_special_and_out_of_range() -> None:
    assert sfloat.encode_raw(math.nan) == sfloat.NAN
    assert sfloat.encode_raw(math.inf) == sfloat.POSITIVE_INFINITY
    assert sfloat.encode_raw(-math.inf) == sfloat.NEGATIVE_INFINITY
    assert sfloat.encode_raw(2046) == 0x10CD  # 205e1: exponent 0 would collide with +INF
    assert sfloat.decode(sfloat.encode_raw(2046)) == 2050.0
    with pytest.raises(ValueError, match="too large"):
        sfloat.encode_raw(3e10)
    with pytest.raises(ValueError, match="exponent"):
        sfloat.encode_raw(1, exponent=9)
    with pytest.raises(ValueError, match="does not fit"):
        sfloat.encode_raw(5000, exponent=0)


def test_encode_rounds_to_the_most_precise_exponent() -> None:
    # 3333e-4 would overflow the 12-bit mantissa, so 333e-3.
    assert sfloat.decode(sfloat.encode_raw(1 / 3)) == 0.333
    assert sfloat.decode(sfloat.encode_raw(36.66666)) == 36.7


_REGULAR = st.integers(0, 0xFFFF).filter(lambda raw: not 0x07FE <= raw <= 0x0802)


@given(_REGULAR)
def test_round_trip_every_regular_value(raw: int) -> None:
    value = sfloat.decode(raw)
    assert sfloat.decode(sfloat.encode_raw(value)) == value


@given(st.integers(-2045, 2045), st.integers(-8, 7))
def test_round_trip_from_mantissa_and_exponent(mantissa: int, exponent: int) -> None:
    raw = ((exponent & 0xF) << 12) | (mantissa & 0xFFF)
    assert sfloat.decode(sfloat.encode(sfloat.decode(raw))) == sfloat.decode(raw)


@given(st.binary(max_size=4))
def test_fuzz_decode(data: bytes) -> None:
    try:
        sfloat.decode(data)
    except ParseError:
        assert len(data) != 2
