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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlmodel import Session, col, select

from server.auth.service import authenticate_hub, issue_hub_token
from server.config import Settings
from server.elders.models import Device, DeviceKind, Elder, ElderStatus

log = logging.getLogger(__name__)
DEMO_HUBS = 3
# Per hub; with three hubs a panic press reaches the console roughly every 45 s.
PANIC_EVERY_S = 135.0


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
    tokens = [issue_hub_token(session, device_id=hub.id, created_by=None)[1] for hub in hubs]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"tokens": tokens}, indent=2), encoding="utf-8")
    path.chmod(0o600)
    return tokens


@contextmanager
def simulated_hubs(settings: Settings, *, server_url: str) -> Iterator[None]:
    """Runs `eldercare-agent simulate` for the demo hubs until the block ends (or Ctrl-C)."""
    from server.db import make_engine

    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        tokens = ensure_demo_hubs(session, settings=settings)
    engine.dispose()
    if not tokens:
        yield
        return
    args = [
        sys.executable, "-m", "device_agent.cli", "--log-level", "WARNING", "simulate",
        "--server", server_url,
        "--hubs", str(len(tokens)), "--rate", "0.05", "--abnormal", "0.25",
        "--panic-every", str(PANIC_EVERY_S), "--heartbeat-interval", "30", "--backoff-cap", "5",
        "--state-dir", str(settings.data_dir / "demo-hubs"),
    ]  # fmt: skip
    for token in tokens:
        args += ["--token", token]
    process = subprocess.Popen(args, env={**os.environ})  # noqa: S603 (our own interpreter)
    print(f"  simulated hubs  {len(tokens)} demo homes sending readings and panic presses")
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
