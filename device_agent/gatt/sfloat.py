"""IEEE-11073 16-bit SFLOAT, the number format of the health-device GATT profiles.

Layout: top 4 bits a signed (two's complement) exponent, low 12 bits a signed mantissa;
value = mantissa · 10^exponent. The exponent is NOT biased: 0xF0B8 is 184 · 10^-1 = 18.4.
(A third-party package was seen decoding it as biased; the tests pin the published vectors.)

Special raw values (exponent 0): 0x07FF NaN, 0x0800 NRes (not at this resolution),
0x07FE +INF, 0x0802 −INF, 0x0801 reserved. NaN, NRes and the reserved value all decode to
``math.nan``: each means "no usable number here", and raising instead would throw away the
other fields of a reading (a cuff that reports NaN for the mean arterial pressure still
reports systolic and diastolic).

Values are computed from the integer mantissa by exact integer scaling and one correctly
rounded division, so 0xF0B8 is 18.4, never 18.400000000000002.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal

from device_agent.gatt.errors import ParseError

NAN = 0x07FF
NRES = 0x0800
POSITIVE_INFINITY = 0x07FE
NEGATIVE_INFINITY = 0x0802
RESERVED = 0x0801

_SPECIAL: dict[int, float] = {
    NAN: math.nan,
    NRES: math.nan,
    RESERVED: math.nan,
    POSITIVE_INFINITY: math.inf,
    NEGATIVE_INFINITY: -math.inf,
}
_MIN_EXPONENT = -8
_MAX_EXPONENT = 7


def decode(raw: int | bytes | bytearray | memoryview, *, scale: int = 0) -> float:
    """Decode an SFLOAT from its 16-bit value or its 2 little-endian bytes.

    ``scale`` adds a power of ten before the one rounding step, for exact unit conversions
    (glucose kg/L → mg/dL is ``scale=5``).
    """
    if isinstance(raw, bool) or not isinstance(raw, int | bytes | bytearray | memoryview):
        raise ParseError(f"SFLOAT: expected an int or 2 bytes, got {type(raw).__name__}")
    if isinstance(raw, int):
        if not 0 <= raw <= 0xFFFF:
            raise ParseError(f"SFLOAT: raw value {raw} is outside 0..0xFFFF")
        value = raw
    else:
        if len(raw) != 2:
            raise ParseError(f"SFLOAT: needs exactly 2 bytes, got {len(raw)}")
        value = int.from_bytes(raw, "little")
    special = _SPECIAL.get(value)
    if special is not None:
        return special
    exponent = value >> 12
    if exponent >= 8:
        exponent -= 16
    mantissa = value & 0x0FFF
    if mantissa >= 0x0800:
        mantissa -= 0x1000
    power = exponent + scale
    if power >= 0:
        return float(mantissa * 10**power)
    # int / int is correctly rounded in Python: 184 / 10 is the double nearest 18.4.
    divisor: int = 10**-power
    return mantissa / divisor


def _mantissa_fits(mantissa: int, exponent: int) -> bool:
    if exponent == 0:
        # Mantissas 2046..2047 and -2048..-2046 with exponent 0 are the special values.
        return -2045 <= mantissa <= 2045
    return -2048 <= mantissa <= 2047


def _raw(mantissa: int, exponent: int) -> int:
    return ((exponent & 0x0F) << 12) | (mantissa & 0x0FFF)


def encode_raw(value: float, *, exponent: int | None = None) -> int:
    """The 16-bit SFLOAT for ``value``.

    Without ``exponent``: the exact encoding if there is one (preferring exponent 0, then the
    fewest decimals, so 120 → 0x0078 and 18.4 → 0xF0B8), else the most precise rounding.
    Raises ``ValueError`` when the value is too large for SFLOAT or the mantissa does not fit
    the forced exponent.
    """
    if math.isnan(value):
        return NAN
    if math.isinf(value):
        return POSITIVE_INFINITY if value > 0 else NEGATIVE_INFINITY
    # repr gives the shortest decimal that round-trips, so 18.4 is 18.4, not 18.39999….
    exact = Decimal(repr(float(value)))
    if exponent is not None:
        if not _MIN_EXPONENT <= exponent <= _MAX_EXPONENT:
            raise ValueError(f"SFLOAT exponent {exponent} is outside -8..7")
        mantissa = int(exact.scaleb(-exponent).to_integral_value(rounding=ROUND_HALF_EVEN))
        if not _mantissa_fits(mantissa, exponent):
            raise ValueError(f"{value} does not fit an SFLOAT mantissa with exponent {exponent}")
        return _raw(mantissa, exponent)
    for candidate in (0, *range(-1, _MIN_EXPONENT - 1, -1), *range(1, _MAX_EXPONENT + 1)):
        scaled = exact.scaleb(-candidate)
        if scaled == scaled.to_integral_value() and _mantissa_fits(int(scaled), candidate):
            return _raw(int(scaled), candidate)
    for candidate in range(_MIN_EXPONENT, _MAX_EXPONENT + 1):
        mantissa = int(exact.scaleb(-candidate).to_integral_value(rounding=ROUND_HALF_EVEN))
        if _mantissa_fits(mantissa, candidate):
            return _raw(mantissa, candidate)
    raise ValueError(f"{value} is too large for an SFLOAT")


def encode(value: float, *, exponent: int | None = None) -> bytes:
    """The 2 little-endian bytes of ``encode_raw(value)``."""
    return encode_raw(value, exponent=exponent).to_bytes(2, "little")
