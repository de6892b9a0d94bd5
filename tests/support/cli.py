"""Running `eldercare …` in-process against a test's database, as an operator would."""

from __future__ import annotations

import pytest

from server import cli
from server.config import get_settings


def run_cli(
    monkeypatch: pytest.MonkeyPatch, *argv: str, database_url: str, secret_key: str | None = None
) -> int:
    """The command's exit code; its settings come from the environment, read afresh."""
    monkeypatch.setenv("ELDERCARE_DATABASE_URL", database_url)
    if secret_key is not None:
        monkeypatch.setenv("ELDERCARE_SECRET_KEY", secret_key)
    get_settings.cache_clear()
    try:
        return cli.main(list(argv))
    finally:
        get_settings.cache_clear()
