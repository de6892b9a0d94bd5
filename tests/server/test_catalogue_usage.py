"""Every catalogue key is used somewhere: a text nothing shows is a text nobody keeps right."""

from __future__ import annotations

import re
from pathlib import Path

import triage
from server.i18n import catalogue

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("server", "caregiver_app", "device_agent", "triage")
SKIP = {"locales", "node_modules", "generated", "dist", "build"}


def _source() -> str:
    parts = []
    for folder in SOURCES:
        for path in (ROOT / folder).rglob("*"):
            # The care app's TypeScript counts; what is built or installed from it does not
            # (generated/ holds the exported catalogue itself).
            if path.suffix in {".py", ".html", ".js", ".ts", ".json"} and not SKIP & set(
                path.parts
            ):
                parts.append(path.read_text(encoding="utf-8", errors="ignore"))
    return "\n".join(parts)


def test_every_catalogue_key_is_used() -> None:
    source = _source()
    unused = []
    for key in sorted(catalogue("th")):
        if key in triage.REASON_KEYS or re.search(rf"[\"']{re.escape(key)}[\"']", source):
            continue
        # Keys built from a prefix and a code: f"alerts.status.{status}", 'x.' ~ kind, "x." + k.
        prefix = re.escape(key.rsplit(".", 1)[0] + ".")
        if re.search(rf"{prefix}(\{{|[\"']\s*(~|\+))", source):
            continue
        unused.append(key)
    assert unused == []
