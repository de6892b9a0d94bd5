"""The elder hears that help is coming: a person's acknowledgement goes down the agent
WebSocket to the home's hub, which plays its shipped prompt. A real server, real agent
processes (`eldercare-agent run`), a recording speaker on one hub and none on the other.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import Session, col, select

from server.alerts.models import Alert, AlertEvent
from server.auth.models import Role, User
from server.devices.config import DevicesSettings
from server.devices.models import HubDownlink, HubStatus
from tests.support.hubs import QUIET, Hub, make_hub
from tests.support.live import free_port, serve
from tests.support.waiting import wait_until_async

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.slow


def _agent_toml(tmp: Path, *, url: str, hub: Hub, speaker: str) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    presses = tmp / "button"
    presses.write_text("long\n")  # the elder holds the button once, as the hub starts
    config = tmp / "agent.toml"
    config.write_text(
        f'server_url = "{url}"\n'
        f'token = "{hub.token}"\n'
        f'outbox_path = "{tmp / "outbox.sqlite3"}"\n'
        "heartbeat_interval_s = 1\n"
        f'speaker = "{speaker}"\n'
        "[uplink]\n"
        "backoff_base_s = 0.05\n"
        "backoff_cap_s = 0.3\n"
        "[[devices]]\n"
        'name = "button"\n'
        'kind = "local_button"\n'
        f'source = "{presses}"\n'
    )
    return config


def _alert_of(session: Session, hub: Hub) -> Alert | None:
    session.expire_all()
    return session.exec(select(Alert).where(Alert.elder_id == hub.elder.id)).first()


def _timeline(session: Session, alert_id: object) -> list[str]:
    session.expire_all()
    return list(
        session.exec(
            select(AlertEvent.action)
            .where(AlertEvent.alert_id == alert_id)
            .order_by(col(AlertEvent.at), col(AlertEvent.id))
        ).all()
    )


async def test_an_acknowledged_press_is_said_aloud_by_the_hub_and_a_mute_hub_says_so(
    app: FastAPI,
    session: Session,
    tmp_path: Path,
    users: dict[Role, User],
    auth: Callable[[User], dict[str, str]],
) -> None:
    app.state.devices_settings = DevicesSettings(**QUIET)
    speaking, mute = make_hub(session), make_hub(session)
    played = tmp_path / "played.jsonl"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with serve(app, port=port):
        agents = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "device_agent.cli",
                "run",
                "--config",
                str(_agent_toml(tmp_path / name, url=url, hub=hub, speaker=speaker)),
                cwd=ROOT,
                env=env,
                stderr=asyncio.subprocess.PIPE,
            )
            for name, hub, speaker in (
                ("speaking", speaking, f"record:{played}"),
                ("mute", mute, "none"),
            )
        ]
        try:
            await wait_until_async(
                lambda: all(_alert_of(session, h) is not None for h in (speaking, mute)),
                within=30,
            )
            alerts = {h.device_id: _alert_of(session, h) for h in (speaking, mute)}
            # The events ack the server sent for the press is no acknowledgement by a person:
            # the hub says nothing yet.
            await asyncio.sleep(2.0)
            assert not played.exists()
            # Both hubs said in their heartbeats whether they can speak.
            await wait_until_async(
                lambda: (
                    _speaker_flags(session) == {speaking.device_id: True, mute.device_id: False}
                ),
                within=15,
            )
            dispatcher = users[Role.DISPATCHER]
            async with httpx.AsyncClient(base_url=url, headers=auth(dispatcher)) as client:
                for alert in alerts.values():
                    assert alert is not None
                    answer = await client.post(f"/api/v1/alerts/{alert.id}/acknowledge", json={})
                    assert answer.status_code == 200, answer.text
            await wait_until_async(lambda: played.exists(), within=15)
            lines = [json.loads(line) for line in played.read_text().splitlines()]
            assert [line["file"] for line in lines] == ["help_coming.wav"]
            speaking_alert, mute_alert = alerts[speaking.device_id], alerts[mute.device_id]
            assert speaking_alert is not None and mute_alert is not None
            await wait_until_async(
                lambda: (
                    "hub_say_played" in _timeline(session, speaking_alert.id)
                    and "hub_say_no_speaker" in _timeline(session, mute_alert.id)
                ),
                within=15,
            )
            session.expire_all()
            rows = session.exec(select(HubDownlink)).all()
            assert {(r.hub_id, r.outcome) for r in rows} == {
                (speaking.device_id, "played"),
                (mute.device_id, "no_speaker"),
            }
            assert all(r.acked_at is not None and r.attempts == 1 for r in rows)
            # The administrators' device page shows the hub without a speaker.
            admin = users[Role.ADMIN]
            async with httpx.AsyncClient(base_url=url, headers=auth(admin)) as client:
                page = await client.get("/admin/devices")
            assert page.status_code == 200
            assert page.text.count("ไม่มีลำโพง") == 1
        finally:
            for agent in agents:
                if agent.returncode is None:
                    agent.send_signal(signal.SIGTERM)
            outputs = [await asyncio.wait_for(a.communicate(), timeout=20) for a in agents]
    for agent, (_, stderr) in zip(agents, outputs, strict=True):
        assert agent.returncode == 0, stderr.decode()[-2000:]
    assert b"no speaker" in outputs[1][1]


def _speaker_flags(session: Session) -> dict[object, bool | None]:
    session.expire_all()
    return {s.hub_id: s.speaker_ok for s in session.exec(select(HubStatus)).all()}
