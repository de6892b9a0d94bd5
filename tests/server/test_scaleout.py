"""The scale-out shape docs/scaling.md claims, at a small size: two server processes behind one
port, a separate reading worker, one PostgreSQL; every press reaches every console, once.

It runs ``bench/scaleout.py --check`` (the full size is the same script with its defaults).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.tiers import postgres_admin_url

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.mark.timeout(300)
def test_every_press_reaches_a_console_on_every_server_process_once() -> None:
    postgres_admin_url()  # skips loudly (fails under CI) without PostgreSQL
    run = subprocess.run(
        [
            sys.executable, str(ROOT / "bench" / "scaleout.py"), "--check",
            "--workers", "2", "--readers", "1", "--consoles", "4", "--presses", "12",
            "--hubs", "10", "--rate", "50",
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
        capture_output=True, text=True, timeout=280,
    )  # fmt: skip
    print(run.stdout)
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    assert "every press reached every console once: yes" in run.stdout
    assert "2 of 2 processes serve a console" in run.stdout
