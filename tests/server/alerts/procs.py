"""Real server processes (uvicorn subprocesses) on one database, for multi-process tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.server.conftest import TEST_SECRET
from tests.support.live import free_port

ROOT = Path(__file__).resolve().parents[3]


def spawn_server(
    db_url: str, *, port: int | None = None, tick: float = 0.2, batch: int = 200
) -> tuple[subprocess.Popen[bytes], str]:
    port = port or free_port()
    env = {
        **os.environ,
        "ELDERCARE_DATABASE_URL": db_url,
        "ELDERCARE_SECRET_KEY": TEST_SECRET,
        "ELDERCARE_ENV": "test",
        "ELDERCARE_ALERTS_TICK_SECONDS": str(tick),
        "ELDERCARE_ALERTS_BATCH": str(batch),
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "server.main:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    return proc, f"http://127.0.0.1:{port}"


def wait_ready(proc: subprocess.Popen[bytes], url: str, timeout: float = 90) -> None:
    # Importing the app takes seconds on a busy machine, and tests start two side by side.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@contextmanager
def servers(db_url: str, count: int, *, tick: float = 0.2, batch: int = 200) -> Iterator[list[str]]:
    """`count` server processes, started side by side, stopped at the end."""
    started: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    try:
        for _ in range(count):
            proc, url = spawn_server(db_url, tick=tick, batch=batch)
            started.append(proc)
            urls.append(url)
        for proc, url in zip(started, urls, strict=True):
            wait_ready(proc, url)
        yield urls
    finally:
        for proc in started:
            stop_server(proc)
