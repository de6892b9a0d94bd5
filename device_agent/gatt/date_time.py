"""Date Time (0x2A08 layout, 7 bytes) and Current Time (0x2A2B, 10 bytes).

Date Time is year u16, month, day, hour, minute, second. A year, month or day of 0 means
"unknown", not an error: many cuffs whose clock was never set send year 0. Such a value
parses to a ``DateTime`` with ``None`` in the unknown parts and ``to_datetime()`` → ``None``.
Values outside the ranges the specification allows (month 13, hour 24, 30 February, a year
below 1582) are malformed and raise ``ParseError``.

The device clock has no time zone, so complete values become naive ``datetime`` objects; the
caller knows which zone (or offset) the device was set to.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime

from device_agent.gatt._reader import Reader
from device_agent.gatt.errors import ParseError

SIZE = 7
CURRENT_TIME_SIZE = 10
MIN_YEAR = 1582
MAX_YEAR = 9999


@dataclass(frozen=True, slots=True)
class DateTime:
    """A device timestamp; ``None`` in ``year``/``month``/``day`` means the device did not know."""

    year: int | None
    month: int | None
    day: int | None
    hour: int
    minute: int
    second: int

    @property
    def is_complete(self) -> bool:
        return self.year is not None and self.month is not None and self.day is not None

    def to_datetime(self) -> datetime | None:
        """The naive ``datetime``, or ``None`` when any date part is unknown."""
        if self.year is None or self.month is None or self.day is None:
            return None
        return datetime(self.year, self.month, self.day, self.hour, self.minute, self.second)

    @classmethod
    def from_datetime(cls, value: datetime) -> DateTime:
        return cls(value.year, value.month, value.day, value.hour, value.minute, value.second)


def read_date_time(reader: Reader, field: str) -> DateTime:
    """Read 7 bytes at the reader's position; errors name ``field.part`` and its offset."""
    start = reader.offset
    year = reader.u16(f"{field}.year")
    month = reader.u8(f"{field}.month")
    day = reader.u8(f"{field}.day")
    hour = reader.u8(f"{field}.hour")
    minute = reader.u8(f"{field}.minute")
    second = reader.u8(f"{field}.second")

    def bad(part: str, delta: int, message: str) -> ParseError:
        return reader.error(message, field=f"{field}.{part}", offset=start + delta)

    if year != 0 and not MIN_YEAR <= year <= MAX_YEAR:
        raise bad("year", 0, f"year {year} is outside {MIN_YEAR}..{MAX_YEAR} (0 = unknown)")
    if month > 12:
        raise bad("month", 2, f"month {month} is outside 1..12 (0 = unknown)")
    if month != 0 and day != 0:
        # With the year unknown, allow 29 February (a leap year is possible).
        last_day = calendar.monthrange(year if year else 2000, month)[1]
        if day > last_day:
            raise bad("day", 3, f"day {day} does not exist in month {month}")
    elif day > 31:
        raise bad("day", 3, f"day {day} is outside 1..31 (0 = unknown)")
    if hour > 23:
        raise bad("hour", 4, f"hour {hour} is outside 0..23")
    if minute > 59:
        raise bad("minute", 5, f"minute {minute} is outside 0..59")
    if second > 59:
        raise bad("second", 6, f"second {second} is outside 0..59")
    return DateTime(year or None, month or None, day or None, hour, minute, second)


def parse_date_time(data: bytes | bytearray | memoryview) -> DateTime:
    """Parse a standalone Date Time characteristic (0x2A08)."""
    return read_date_time(Reader(data, what="date time"), "date_time")


def encode_date_time(value: datetime | DateTime) -> bytes:
    """The 7 bytes of a Date Time; unknown parts of a ``DateTime`` are written as 0."""
    if isinstance(value, datetime):
        value = DateTime.from_datetime(value)
    return (value.year or 0).to_bytes(2, "little") + bytes(
        [value.month or 0, value.day or 0, value.hour, value.minute, value.second]
    )


@dataclass(frozen=True, slots=True)
class CurrentTime:
    date_time: DateTime
    day_of_week: int | None  # 1 = Monday … 7 = Sunday; None = unknown
    fractions256: int
    adjust_reason: int


def parse_current_time(data: bytes | bytearray | memoryview) -> CurrentTime:
    """Parse Current Time (0x2A2B): Date Time, day of week, fractions256, adjust reason."""
    reader = Reader(data, what="current time")
    date_time = read_date_time(reader, "date_time")
    day_of_week = reader.u8("day_of_week")
    if day_of_week > 7:
        raise reader.error(
            f"day of week {day_of_week} is outside 1..7 (0 = unknown)",
            field="day_of_week",
            offset=reader.offset - 1,
        )
    fractions256 = reader.u8("fractions256")
    adjust_reason = reader.u8("adjust_reason")
    return CurrentTime(date_time, day_of_week or None, fractions256, adjust_reason)


def encode_current_time(value: datetime, *, adjust_reason: int = 0x01) -> bytes:
    """Current Time bytes for writing the hub's clock to a device (adjust reason: manual)."""
    fractions256 = value.microsecond * 256 // 1_000_000
    return encode_date_time(value) + bytes([value.isoweekday(), fractions256, adjust_reason])
