"""`eldercare serve --workers 2`: every worker counts into the shared metrics folder and a
scrape of either adds all of them up; an exception that escapes a handler counts as a 5xx."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from server.config import Settings
from server.main import create_app
from server.telemetry import instruments
from tests.server.alerts.procs import wait_ready
from tests.server.conftest import TEST_SECRET
from tests.support.live import free_port

ROOT = Path(__file__).resolve().parents[3]


def _count(text: str, status: str) -> float:
    found = re.search(rf'^eldercare_http_responses_total\{{status="{status}"\}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


@pytest.mark.slow
def test_two_workers_are_scraped_as_one(postgres_database: str, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "ELDERCARE_DATABASE_URL": postgres_database,
        "ELDERCARE_SECRET_KEY": TEST_SECRET,
        "ELDERCARE_ENV": "test",
        "ELDERCARE_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1",
         "--port", str(port), "--workers", "2"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    folder = tmp_path / "data" / f"metrics-{port}"
    try:
        wait_ready(proc, url)
        sent = 0
        # New connections until both workers have answered some (the kernel picks).
        while sent < 400:
            for _ in range(20):
                with httpx.Client() as fresh:
                    assert fresh.get(f"{url}/api/v1/health", timeout=30).status_code == 200
            sent += 20
            pids = {p.stem.rsplit("_", 1)[1] for p in folder.glob("counter_*.db")}
            if len(pids) >= 2:
                break
        assert len(pids) >= 2, "one worker answered everything"
        scraped = httpx.get(f"{url}/metrics", timeout=30)
        assert scraped.status_code == 200
        # wait_ready's polls count too: at least every request sent here, from both workers.
        assert _count(scraped.text, "2xx") >= sent
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def test_an_escaped_exception_counts_as_a_5xx(db_url: str, tmp_path: Path) -> None:
    app: FastAPI = create_app(
        Settings(env="test", database_url=db_url, secret_key=TEST_SECRET, data_dir=tmp_path)
    )

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    before = instruments.HTTP_RESPONSES.labels(status="5xx")._value.get()
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/boom").status_code == 500
        assert client.get("/api/v1/health").status_code == 200
    assert instruments.HTTP_RESPONSES.labels(status="5xx")._value.get() == before + 1
