from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from server.i18n import catalogue, format_date, negotiate, placeholders, translate

TEMPLATES = Path(__file__).resolve().parents[2] / "server"


def test_thai_and_english_have_the_same_keys_and_placeholders() -> None:
    th, en = catalogue("th"), catalogue("en")
    assert set(th) == set(en), f"only in one language: {sorted(set(th) ^ set(en))}"
    for key in th:
        assert placeholders(th[key]) == placeholders(en[key]), key


def test_every_key_used_in_templates_exists() -> None:
    used: set[str] = set()
    for path in TEMPLATES.rglob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*['"]([a-z0-9_.]+)['"]""", path.read_text("utf-8")))
    keys = catalogue("th")
    # `t('elders.status.' ~ value)` builds the key: its prefix must lead somewhere.
    missing = {
        key
        for key in used
        if (key not in keys if not key.endswith(".") else not any(k.startswith(key) for k in keys))
    }
    assert not missing, f"template keys missing from the catalogue: {sorted(missing)}"


def test_thai_is_default_and_buddhist_era() -> None:
    assert translate("common.login") == "เข้าสู่ระบบ"
    assert translate("common.login", "en") == "Log in"
    assert format_date(date(2026, 11, 22), "th") == "22 พฤศจิกายน 2569"
    assert format_date(date(2026, 11, 22), "en") == "22 November 2026"
    assert negotiate("en-GB,en;q=0.9") == "en"
    assert negotiate("th-TH") == "th"
    assert negotiate("fr") is None
