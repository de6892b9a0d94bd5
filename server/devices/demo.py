"""Demo only: three demo elders' hubs get tokens and a simulator feeds them while the demo runs.

The tokens are kept in `<data_dir>/demo-hubs.json` so the simulator can use them; this never
happens with ELDERCARE_ENV=production.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlmodel import Session, col, select

from server.config import Settings
from server.devices.models import Device, DeviceKind
from server.devices.service import authenticate_hub, issue_hub_token
from server.elders.models import Elder, ElderStatus

log = logging.getLogger(__name__)
DEMO_HUBS = 3
# Per hub; with three hubs a panic press reaches the console roughly every 45 s.
PANIC_EVERY_S = 135.0
# The simulator starts once the server answers; a server that never does is reported.
HEALTH_TIMEOUT_S = 60.0
HEALTH_POLL_S = 0.2


def tokens_path(settings: Settings) -> Path:
    return settings.data_dir / "demo-hubs.json"


def ensure_demo_hubs(session: Session, *, settings: Settings, count: int = DEMO_HUBS) -> list[str]:
    """Hub tokens for the first demo elders' hubs: the saved ones if still valid, else new."""
    if settings.env == "production":
        raise RuntimeError("demo hub tokens are never issued with ELDERCARE_ENV=production")
    path = tokens_path(settings)
    if path.exists():
        saved = json.loads(path.read_text(encoding="utf-8")).get("tokens", [])
        if len(saved) >= count and all(authenticate_hub(session, f"Bearer {t}") for t in saved):
            return list(saved)[:count]
    hubs = session.exec(
        select(Device)
        .join(Elder, col(Elder.id) == Device.elder_id)
        .where(Device.kind == DeviceKind.HUB, Elder.status == ElderStatus.ENROLLED)
        .order_by(col(Elder.first_name), col(Device.id))
        .limit(count)
    ).all()
    tokens = [issue_hub_token(session, device_id=hub.id, actor=None)[1] for hub in hubs]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"tokens": tokens}, indent=2), encoding="utf-8")
    path.chmod(0o600)
    return tokens


def wait_until_healthy(server_url: str, *, stop: threading.Event, timeout: float) -> bool:
    """True once `GET /api/v1/health` answers 200; False if stopped or out of time first."""
    url = server_url.rstrip("/") + "/api/v1/health"
    deadline = time.monotonic() + timeout
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own http URL)
                if response.status == 200:
                    return True
        except OSError:  # not listening yet, or 503 while the database is not ready
            pass
        stop.wait(HEALTH_POLL_S)
    return False


class SimulatedHubs:
    """Starts the simulator in a thread once the server answers its health check.

    The server runs in the caller's thread and blocks it, so the wait cannot happen there;
    hubs started earlier would meet a closed port and log connection errors.
    """

    def __init__(self, args: list[str], *, server_url: str, timeout: float) -> None:
        self._args = args
        self._server_url = server_url
        self._timeout = timeout
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.process: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._start_when_ready, name="demo-hubs")

    def start(self) -> None:
        self._thread.start()

    def _start_when_ready(self) -> None:
        ready = wait_until_healthy(self._server_url, stop=self._stop, timeout=self._timeout)
        with self._lock:
            if self._stop.is_set():
                return
            if not ready:
                print(
                    f"  simulated hubs  not started: {self._server_url}/api/v1/health did not "
                    f"answer within {self._timeout:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
                return
            self.process = subprocess.Popen(self._args, env={**os.environ})  # noqa: S603 (our own interpreter)
        homes = self._args.count("--token")
        print(
            f"  simulated hubs  {homes} demo homes sending readings and panic presses", flush=True
        )

    def stop(self) -> None:
        with self._lock:
            self._stop.set()
            process = self.process
        self._thread.join(timeout=10)
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def simulator_args(settings: Settings, *, server_url: str, tokens: list[str]) -> list[str]:
    args = [
        sys.executable, "-m", "device_agent.cli", "--log-level", "WARNING", "simulate",
        "--server", server_url,
        "--hubs", str(len(tokens)), "--rate", "0.05", "--abnormal", "0.25",
        "--panic-every", str(PANIC_EVERY_S), "--heartbeat-interval", "30", "--backoff-cap", "5",
        "--state-dir", str(settings.data_dir / "demo-hubs"),
    ]  # fmt: skip
    for token in tokens:
        args += ["--token", token]
    return args


@contextmanager
def simulated_hubs(
    settings: Settings, *, server_url: str, timeout: float = HEALTH_TIMEOUT_S
) -> Iterator[SimulatedHubs | None]:
    """Runs `eldercare-agent simulate` for the demo hubs, from the moment the server answers
    until the block ends (or Ctrl-C). Yields None when there are no demo hubs."""
    from server.db import make_engine

    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        tokens = ensure_demo_hubs(session, settings=settings)
        session.commit()
    engine.dispose()
    if not tokens:
        yield None
        return
    hubs = SimulatedHubs(
        simulator_args(settings, server_url=server_url, tokens=tokens),
        server_url=server_url,
        timeout=timeout,
    )
    hubs.start()
    try:
        yield hubs
    finally:
        hubs.stop()
