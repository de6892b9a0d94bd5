from datetime import datetime

import pytest

from device_agent.gatt import ParseError, date_time
from tests.support.gatt import assert_every_truncation_fails, h


def test_complete_value() -> None:
    parsed = date_time.parse_date_time(h("EA07 04 11 14 29 3B"))
    assert parsed.is_complete
    assert parsed.to_datetime() == datetime(2026, 4, 17, 20, 41, 59)


def test_year_zero_is_unknown_not_an_error() -> None:
    parsed = date_time.parse_date_time(h("0000 04 11 14 29 3B"))
    assert parsed == date_time.DateTime(None, 4, 17, 20, 41, 59)
    assert not parsed.is_complete
    assert parsed.to_datetime() is None


def test_month_and_day_zero_are_unknown() -> None:
    parsed = date_time.parse_date_time(h("EA07 00 00 00 00 00"))
    assert (parsed.year, parsed.month, parsed.day) == (2026, None, None)
    assert parsed.to_datetime() is None


def test_29_february_without_a_year_is_allowed() -> None:
    assert date_time.parse_date_time(h("0000 02 1D 00 00 00")).day == 29


@pytest.mark.parametrize(
    ("hex_value", "field", "offset"),
    [
        ("EA07 0D 01 00 00 00", "date_time.month", 2),
        ("EA07 02 1E 00 00 00", "date_time.day", 3),  # 30 February
        ("EA07 01 20 00 00 00", "date_time.day", 3),
        ("0000 00 20 00 00 00", "date_time.day", 3),
        ("EA07 01 01 18 00 00", "date_time.hour", 4),
        ("EA07 01 01 00 3C 00", "date_time.minute", 5),
        ("EA07 01 01 00 00 3C", "date_time.second", 6),
        ("0100 01 01 00 00 00", "date_time.year", 0),
    ],
)
def test_out_of_range_parts_name_field_and_offset(hex_value: str, field: str, offset: int) -> None:
    with pytest.raises(ParseError) as caught:
        date_time.parse_date_time(h(hex_value))
    assert caught.value.field == field
    assert caught.value.offset == offset
    assert f"byte {offset}" in str(caught.value)


def test_truncations() -> None:
    assert_every_truncation_fails(date_time.parse_date_time, h("EA07 04 11 14 29 3B"))


def test_encode_round_trip() -> None:
    moment = datetime(2026, 11, 22, 9, 5, 1)
    assert date_time.parse_date_time(date_time.encode_date_time(moment)).to_datetime() == moment
    partial = date_time.DateTime(None, 4, 17, 20, 41, 59)
    assert date_time.encode_date_time(partial) == h("0000 04 11 14 29 3B")


def test_current_time() -> None:
    moment = datetime(2026, 11, 22, 9, 5, 1, 500_000)  # a Sunday
    data = date_time.encode_current_time(moment)
    assert data == h("EA07 0B 16 09 05 01 07 80 01")
    parsed = date_time.parse_current_time(data)
    assert parsed.date_time.to_datetime() == moment.replace(microsecond=0)
    assert (parsed.day_of_week, parsed.fractions256, parsed.adjust_reason) == (7, 128, 1)
    assert_every_truncation_fails(date_time.parse_current_time, data)
    with pytest.raises(ParseError, match="day of week 8"):
        date_time.parse_current_time(data[:7] + b"\x08\x00\x00")
