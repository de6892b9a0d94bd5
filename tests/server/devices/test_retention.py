"""Retention of the raw device record: `eldercare devices prune` deletes hub events older
than the setting, never a reading still waiting for triage, and never what was made from
the events (observations, alerts)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from eldercare_protocol import EVENT_ADAPTER
from server.alerts.models import Alert
from server.config import Settings
from server.devices.config import DevicesSettings
from server.devices.models import AgentEvent, PendingReading
from server.devices.service import HubIdentity, prune_events
from server.devices.store import Submission, project_readings, store_group
from server.observations.models import Observation
from tests.support.cli import run_cli
from tests.support.events import bp_reading_json, now, panic_json
from tests.support.hubs import QUIET, make_hub

SETTINGS = DevicesSettings.model_validate(QUIET)


def _count(session: Session, model: type, *where: sa.ColumnElement[bool]) -> int:
    return int(session.exec(select(func.count()).select_from(model).where(*where)).one())


def test_prune_deletes_old_hub_events_and_keeps_what_was_made_from_them(
    session: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    hub = make_hub(session)
    identity = HubIdentity(token_id=hub.token_id, device_id=hub.device_id, elder_id=hub.elder.id)
    long_ago = now() - timedelta(days=500)

    def send(*raw: dict[str, object], received: object) -> None:
        events = [EVENT_ADAPTER.validate_python(r) for r in raw]
        store_group(session, [Submission(hub=identity, events=events, received_at=received)],
                    settings=SETTINGS)  # fmt: skip
        session.commit()

    # Five readings and a panic received 500 days ago, triaged then.
    send(*[bp_reading_json() for _ in range(5)], panic_json(), received=long_ago)
    while project_readings(session, settings=SETTINGS):
        pass
    # An old reading still waiting for triage, and this week's events.
    send(bp_reading_json(), received=long_ago + timedelta(seconds=1))
    send(bp_reading_json(), panic_json(), received=now())
    assert _count(session, AgentEvent) == 9
    observations, alerts = _count(session, Observation), _count(session, Alert)
    assert observations == 5 and alerts >= 1

    # A small batch: the deletes go in several transactions and still stop at the cutoff.
    assert prune_events(session, keep_days=499, batch=2) == 6
    left = session.exec(select(AgentEvent.id)).all()
    assert len(left) == 3
    pending = session.exec(select(PendingReading.event_id)).all()
    assert set(pending) <= set(left) and len(pending) == 2
    assert _count(session, Observation) == observations
    assert _count(session, Alert) == alerts

    # The command line, with the setting's 400 days: nothing more is old enough.
    env = {"database_url": settings.database_url, "secret_key": settings.secret_key}
    assert run_cli(monkeypatch, "devices", "prune", **env) == 0
    assert "removed 0 hub events received more than 400 days ago" in capsys.readouterr().out
    assert run_cli(monkeypatch, "devices", "prune", "--keep-days", "7", **env) == 2
    session.expire_all()
    assert _count(session, AgentEvent, col(AgentEvent.received_at) < now() - timedelta(days=1)) == 1
