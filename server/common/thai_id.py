"""Thai national ID numbers: 13 digits, the last a mod-11 check digit of the first twelve."""

from __future__ import annotations


def check_digit(first_twelve: str) -> int:
    total = sum(int(d) * (13 - i) for i, d in enumerate(first_twelve))
    return (11 - total % 11) % 10


def with_check_digit(first_twelve: str) -> str:
    """The full 13-digit number for its first twelve digits (test and demo data)."""
    if len(first_twelve) != 12 or not first_twelve.isdigit():
        raise ValueError("a Thai national ID starts with 12 digits")
    return first_twelve + str(check_digit(first_twelve))


def is_valid(value: str) -> bool:
    return len(value) == 13 and value.isdigit() and check_digit(value[:12]) == int(value[12])
