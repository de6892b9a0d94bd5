"""The app's own texts (caregiver_app/src/strings.json): Thai and English say the same keys
with the same placeholders, and every literal key the code uses exists."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

from server.i18n import catalogue

APP = Path(__file__).resolve().parents[3] / "caregiver_app"
# The app's catalogue, with the screens' own files (src/<screens>/strings.json) merged in.
STRINGS: dict[str, dict[str, str]] = {"th": {}, "en": {}}
for _path in sorted((APP / "src").rglob("strings.json")):
    for _loc, _texts in json.loads(_path.read_text(encoding="utf-8")).items():
        STRINGS[_loc].update(_texts)


def _names(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_thai_and_english_have_the_same_keys_and_placeholders() -> None:
    th, en = STRINGS["th"], STRINGS["en"]
    assert set(th) == set(en)
    for key in th:
        assert th[key].strip() and en[key].strip(), key
        assert _names(th[key]) == _names(en[key]), key


def test_every_literal_key_in_the_code_exists() -> None:
    used: set[str] = set()
    for path in (APP / "src").rglob("*.ts"):
        used |= set(re.findall(r"\bt\(\"([a-z0-9_.]+)\"", path.read_text(encoding="utf-8")))
    known = set(STRINGS["th"]) | set(catalogue("th"))
    assert used and used <= known, sorted(used - known)
