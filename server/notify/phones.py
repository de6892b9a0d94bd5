"""Thai phone numbers to E.164, the form Twilio dials."""

from __future__ import annotations

import re


def to_e164(number: str, *, country_code: str = "66") -> str:
    """081-234-5678 → +66812345678; 02-123-4567 → +6621234567; +… is kept as it is.

    Raises ValueError for what cannot be a number, so a typo fails loudly, not silently.
    """
    raw = number.strip()
    digits = re.sub(r"[\s\-().]", "", raw)
    if digits.startswith("+"):
        rest = digits[1:]
    elif digits.startswith("00"):
        rest = digits[2:]
    elif digits.startswith("0"):
        rest = country_code + digits[1:]
    else:
        rest = digits
    if not rest.isdigit() or not 8 <= len(rest) <= 15:
        raise ValueError(f"not a phone number: {raw!r}")
    return "+" + rest
