"""Shared by the server benchmarks: machine line, a bench database with hubs, a server process."""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def machine_line() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = psutil.virtual_memory().total / 2**30
    return (
        f"machine: {cpu}, {os.cpu_count()} cores, {ram:.1f} GiB RAM, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}; "
        f"speed now: {speed_gauge():.2f} s for 10^7 additions"
    )


def speed_gauge() -> float:
    """Seconds for a bare Python loop of 10^7 additions, now. A shared machine's speed
    changes from hour to hour, by up to twice on the 2-core host of the issue 16 figures:
    figures taken at different gauges do not compare, and this says which is which."""
    started = time.perf_counter()
    total = 0
    for n in range(10_000_000):
        total += n
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def bench_database(kind: str) -> Iterator[str]:
    """An empty migrated database: a temp SQLite file, or a throwaway PostgreSQL database."""
    from tests.support.databases import scratch_database

    with scratch_database("sqlite" if kind == "sqlite" else "postgresql", prefix="bench") as url:
        yield url


def make_hubs(url: str, count: int) -> list[str]:
    """`count` elders, each with a hub and its token (made directly, as an admin would)."""
    from sqlmodel import Session

    from server.db import make_engine
    from server.devices.models import Device, DeviceKind
    from server.devices.service import issue_hub_token
    from server.elders.models import Elder, Sex

    engine = make_engine(url)
    tokens = []
    with Session(engine) as session:
        hubs = []
        for i in range(count):
            elder = Elder(
                national_id=f"{1100000000000 + i}", first_name=f"bench{i}", last_name="hub",
                birth_date=date(1945, 1, 1), sex=Sex.FEMALE, address="bench", community="bench",
            )  # fmt: skip
            session.add(elder)
            session.flush()
            hub = Device(elder_id=elder.id, kind=DeviceKind.HUB)
            session.add(hub)
            hubs.append(hub)
        session.commit()
        hub_ids = [hub.id for hub in hubs]
    # A fresh session that keeps nothing around between commits (one per token).
    with Session(engine, expire_on_commit=False) as session:
        for hub_id in hub_ids:
            tokens.append(issue_hub_token(session, device_id=hub_id, actor=None)[1])
            session.commit()
            session.expunge_all()
    engine.dispose()
    return tokens


@contextlib.contextmanager
def uvicorn_process(
    app: list[str], port: int, *, start_timeout_s: float, **env: str
) -> Iterator[subprocess.Popen[bytes]]:
    """`app` (uvicorn's app arguments) served on `port` with the server's WebSocket settings,
    yielded once the port accepts connections."""
    process = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", *app,
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
            "--ws-max-size", "2097152", "--backlog", "16384",
            "--ws-per-message-deflate", "false",  # as `eldercare serve`
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        cwd=ROOT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + start_timeout_s
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{app[0]} did not start")
            time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@contextlib.contextmanager
def server_process(
    url: str, port: int, *, start_timeout_s: float = 90.0, **env: str
) -> Iterator[subprocess.Popen[bytes]]:
    with uvicorn_process(
        ["server.main:create_app", "--factory"], port, start_timeout_s=start_timeout_s,
        ELDERCARE_DATABASE_URL=url, ELDERCARE_ENV="test",
        ELDERCARE_DEVICES_SUPERVISION_INTERVAL_SECONDS="3600", **env,
    ) as process:  # fmt: skip
        yield process
