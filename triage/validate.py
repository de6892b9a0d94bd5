"""Checks that turn bad input into a clear error before any rule sees it."""

from __future__ import annotations

import math

from triage.rules import RULE_SET


class ImplausibleReading(ValueError):
    """A number that cannot be a real reading of `code` (wrong unit, glitch, NaN)."""

    def __init__(self, code: str, value: object, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.value = value


def check_reading(code: str, value: object) -> float:
    """`value` as a float, or ImplausibleReading naming the code, the value and the range."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ImplausibleReading(code, value, f"{code}: expected a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ImplausibleReading(code, value, f"{code}: {value!r} is not a finite number")
    plausible = RULE_SET.plausible.ranges[code]
    if not plausible.low <= number <= plausible.high:
        raise ImplausibleReading(
            code,
            value,
            f"{code}: {value} {plausible.unit} is outside the plausible range "
            f"{plausible.low:g}-{plausible.high:g} {plausible.unit}",
        )
    return number


def check_scale(scale: object) -> int:
    if not isinstance(scale, bool) and scale == 1:
        return 1
    if not isinstance(scale, bool) and scale == 2:
        return 2
    raise ValueError(f"SpO2 scale must be 1 or 2, got {scale!r}")


def display_number(value: float) -> int | float:
    """91.0 -> 91 for the wording people read; 37.5 stays 37.5."""
    return int(value) if value.is_integer() else value
