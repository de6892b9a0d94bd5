"""Test tiers that need a real part (PostgreSQL, Chromium, Mosquitto).

Off CI a missing part skips loudly; with CI=true it fails, so a green CI always means the
part was really exercised.
"""

from __future__ import annotations

import os
import shutil
import socket
from typing import NoReturn

import pytest

from tests.support.databases import DEFAULT_POSTGRES_ADMIN_URL

IN_CI = os.environ.get("CI", "").lower() == "true"


def missing(part: str, why: str) -> NoReturn:
    message = f"{part} is not available: {why}"
    if IN_CI:
        pytest.fail(f"{message} (CI=true requires it)", pytrace=False)
    pytest.skip(f"!!! SKIPPED — {message}")


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def chromium_path() -> str:
    path = os.environ.get("ELDERCARE_CHROMIUM") or shutil.which("chromium")
    if not path:
        missing("Chromium", "install Debian's 'chromium' package")
    return path


def postgres_admin_url() -> str:
    """URL of a PostgreSQL server on which the tests may create and drop databases."""
    url = os.environ.get("ELDERCARE_TEST_POSTGRES_URL")
    if url:
        return url
    if not port_open("127.0.0.1", 5432):
        missing(
            "PostgreSQL",
            "nothing answers at 127.0.0.1:5432 and ELDERCARE_TEST_POSTGRES_URL is unset",
        )
    return DEFAULT_POSTGRES_ADMIN_URL
