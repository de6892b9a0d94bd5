"""The i18n catalogue: Thai by default, English available.

Every text a person reads comes from `locales/<lang>/<domain>.json` (flat key → text with
`{name}` placeholders). Each domain keeps its own file so a key's home is obvious.
"""

from __future__ import annotations

import json
import string
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from server.common.time import BANGKOK, as_utc

Locale = Literal["th", "en"]
LOCALES: tuple[Locale, ...] = ("th", "en")
DEFAULT_LOCALE: Locale = "th"
_ROOT = Path(__file__).parent / "locales"

THAI_MONTHS = (
    "มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
    "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม",
)  # fmt: skip
THAI_MONTHS_SHORT = (
    "ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.",
    "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค.",
)  # fmt: skip
ENGLISH_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


class CatalogueError(Exception):
    pass


@lru_cache
def catalogue(locale: Locale) -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in sorted((_ROOT / locale).glob("*.json")):
        entries = json.loads(path.read_text(encoding="utf-8"))
        for key, text in entries.items():
            if key in merged:
                raise CatalogueError(f"{path}: key {key!r} is defined twice")
            merged[key] = text
    return merged


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def normalise_locale(value: str | None) -> Locale | None:
    if not value:
        return None
    code = value.strip().lower()[:2]
    return "th" if code == "th" else "en" if code == "en" else None


def negotiate(accept_language: str | None) -> Locale | None:
    """First supported language in an Accept-Language header, by q-value."""
    if not accept_language:
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        lang, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        ranked.append((-weight, position, lang))
    for _, _, lang in sorted(ranked):
        found = normalise_locale(lang)
        if found:
            return found
    return None


def translate(key: str, locale: Locale = DEFAULT_LOCALE, /, **params: Any) -> str:
    """Text for `key`; a missing key shows itself rather than failing a page at 3 a.m."""
    text = catalogue(locale).get(key) or catalogue(DEFAULT_LOCALE).get(key)
    if text is None:
        return key
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError):
        return text


def format_date(value: date | datetime | None, locale: Locale, *, buddhist_era: bool = True) -> str:
    """22 พฤศจิกายน 2569 (B.E.) in Thai; 22 November 2026 in English."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = as_utc(value).astimezone(BANGKOK).date()
    if locale == "th":
        year = value.year + 543 if buddhist_era else value.year
        return f"{value.day} {THAI_MONTHS[value.month - 1]} {year}"
    return f"{value.day} {ENGLISH_MONTHS[value.month - 1]} {value.year}"


def format_datetime(value: datetime | None, locale: Locale, *, buddhist_era: bool = True) -> str:
    if value is None:
        return "—"
    local = as_utc(value).astimezone(BANGKOK)
    return f"{format_date(local.date(), locale, buddhist_era=buddhist_era)} {local:%H:%M}"
