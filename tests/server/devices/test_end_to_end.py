"""The real agent simulator (a separate process) against the real server, through a restart."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlmodel import Session, col, func, select

from server.alerts.models import AlertEvent
from server.devices.models import AgentEvent, PendingReading
from server.observations.models import Observation
from tests.support.hubs import QUIET, make_hub
from tests.support.live import free_port, serve
from tests.support.waiting import wait_until_async

ROOT = Path(__file__).resolve().parents[3]


def _stored_count(session: Session) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(AgentEvent)).one()


@pytest.mark.slow
async def test_simulated_hubs_lose_nothing_and_duplicate_nothing_across_a_server_restart(
    app: FastAPI, session: Session, tmp_path: Path
) -> None:
    from server.devices.config import DevicesSettings

    hubs = [make_hub(session) for _ in range(3)]
    app.state.devices_settings = DevicesSettings(**QUIET)
    port = free_port()
    ids_log = tmp_path / "ids.log"
    args = [
        sys.executable, "-m", "device_agent.cli", "simulate",
        "--server", f"http://127.0.0.1:{port}", "--hubs", "3",
        "--rate", "25", "--count", "120", "--panic-every", "1.5", "--abnormal", "0.3",
        "--heartbeat-interval", "1", "--backoff-cap", "0.3", "--seed", "7",
        "--state-dir", str(tmp_path / "hubs"), "--id-log", str(ids_log), "--exit-when-drained",
    ]  # fmt: skip
    for hub in hubs:
        args += ["--token", hub.token]
    with serve(app, port=port):
        process = await asyncio.create_subprocess_exec(
            *args,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        # Down mid-stream: once the hubs have delivered some events, not before any.
        await wait_until_async(lambda: _stored_count(session) >= 30, within=60)
    stored_before_outage = _stored_count(session)
    # The server is down for a moment; the hubs keep their events.
    await asyncio.sleep(1.0)
    with serve(app, port=port):
        try:
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=90)
        finally:
            if process.returncode is None:
                process.kill()
        # Acked readings are queued; wait for them to become observations.
        for _ in range(200):
            session.expire_all()
            if session.exec(select(func.count()).select_from(PendingReading)).one() == 0:
                break
            await asyncio.sleep(0.05)
    assert process.returncode == 0, stderr.decode()[-2000:]

    # "<id> <kind> <time>" once stored ("? ..." lines are the same events before storing).
    lines = [
        line.split()[:2]
        for line in ids_log.read_text().splitlines()
        if line.strip() and not line.startswith("?")
    ]
    sent = {event_id: kind for event_id, kind in lines}
    assert len(sent) == len(lines)
    # Heartbeats are acked and kept as each hub's status, not as event rows.
    beats = {i for i, kind in sent.items() if kind == "heartbeat"}
    sent = {i: kind for i, kind in sent.items() if i not in beats}
    session.expire_all()
    rows = session.exec(select(AgentEvent.id, AgentEvent.kind, AgentEvent.elder_id)).all()
    stored = {str(event_id): kind for event_id, kind, _ in rows}
    assert stored.keys() == sent.keys(), "lost or unexpected events"
    assert len(rows) == len(stored)
    assert {elder_id for _, _, elder_id in rows} == {h.elder.id for h in hubs}
    readings = [i for i, kind in sent.items() if kind == "vitals"]
    assert len(readings) == 3 * 120
    assert stored_before_outage < len(sent), "the outage came after the hubs had finished"
    observations = session.exec(select(Observation.id)).all()
    assert {str(o) for o in observations} == set(readings)
    panics = [i for i, kind in sent.items() if kind == "panic"]
    assert panics, "the simulator pressed no panic button"
    heard = session.exec(
        select(AlertEvent.source_event_id).where(col(AlertEvent.source_event_id).is_not(None))
    ).all()
    assert set(panics) <= {str(h) for h in heard}
