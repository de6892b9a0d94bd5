"""/metrics and the detailed health: guarded, fed by real requests and the real database."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from server.alerts.lifecycle import Action
from server.alerts.models import AlertTimer
from server.alerts.service import transition
from server.auth.models import Role, User
from server.common.time import utcnow
from server.config import Settings
from server.deps import OptionalUser
from server.devices.models import AgentEvent, Device, DeviceKind, PendingReading
from server.main import create_app
from server.metrics.config import MetricsSettings
from server.notify.models import Channel, Notification, NotificationStatus
from server.telemetry.logs import JsonFormatter
from tests.support.alerts import raise_panic_alert as panic
from tests.support.records import make_elder

TOKEN = "metrics-token-" + "x" * 20


@pytest.fixture
def guarded(app: FastAPI) -> dict[str, str]:
    app.state.metrics_settings = MetricsSettings(token=TOKEN)
    return {"Authorization": f"Bearer {TOKEN}"}


def sample(text: str, name: str, **labels: str) -> float:
    label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = (
        "^"
        + re.escape(name)
        + (r"\{" + re.escape(label_text) + r"\}" if labels else "")
        + r" (\S+)"
    )
    match = re.search(pattern, text, re.MULTILINE)
    assert match, f"{name}{labels} not in metrics"
    return float(match.group(1))


def test_metrics_need_the_token_or_loopback(client: TestClient, app: FastAPI) -> None:
    # TestClient's peer is not loopback: without a token configured, refused.
    assert client.get("/metrics").status_code == 403
    assert client.get("/api/v1/health/detail").status_code == 403
    app.state.metrics_settings = MetricsSettings(token=TOKEN)
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_metrics_report_alerts_acknowledgement_and_queues(
    client: TestClient, session: Session, users: dict[Role, User], guarded: dict[str, str]
) -> None:
    elder = make_elder(session)
    before = client.get("/metrics", headers=guarded).text
    counted = 'eldercare_alert_acknowledge_seconds_count{priority="RED"}' in before
    acked_before = (
        sample(before, "eldercare_alert_acknowledge_seconds_count", priority="RED")
        if counted
        else 0
    )
    first = panic(session, elder.id).alert_id
    panic(session, make_elder(session).id)
    transition(session, alert_id=first, action=Action.ACKNOWLEDGE, actor=users[Role.DISPATCHER])
    session.commit()
    hub = Device(elder_id=elder.id, kind=DeviceKind.HUB)
    session.add(hub)
    session.flush()
    event = AgentEvent(id=uuid.uuid4(), hub_id=hub.id, elder_id=elder.id, device="bp",
                       kind="vitals", occurred_at=utcnow())  # fmt: skip
    session.add(event)
    session.flush()
    session.add(PendingReading(event_id=event.id))
    session.commit()

    text = client.get("/metrics", headers=guarded).text
    assert sample(text, "eldercare_open_alerts", priority="RED", state="new") == 1
    assert sample(text, "eldercare_open_alerts", priority="RED", state="acknowledged") == 1
    assert (
        sample(text, "eldercare_alert_acknowledge_seconds_count", priority="RED")
        == acked_before + 1
    )
    assert sample(text, "eldercare_readings_queue_depth") == 1
    assert sample(text, "eldercare_database_up") == 1
    assert "eldercare_db_pool_connections" in text
    assert "# TYPE eldercare_events_ingested_total counter" in text
    assert "# TYPE eldercare_timer_lateness_seconds histogram" in text


@pytest.fixture
def timers_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a scheduler: it would fire the overdue timer this test plants (within its
    longest sleep, or at once when woken) before the health check could see it behind."""
    monkeypatch.setattr("server.main.scheduler", lambda engine, settings: nullcontext())


def test_health_detail_names_what_is_degraded(
    timers_stopped: None, client: TestClient, session: Session, guarded: dict[str, str]
) -> None:
    healthy = client.get("/api/v1/health/detail", headers=guarded).json()
    assert healthy["status"] == "ok" and healthy["degraded"] == []
    elder = make_elder(session)
    alert_id = panic(session, elder.id).alert_id
    now = utcnow()
    session.add(AlertTimer(alert_id=alert_id, step="late", due_at=now - timedelta(minutes=5)))
    for _ in range(3):
        session.add(Notification(channel=Channel.SMS, to="+66800000000", template_key="x",
                                 status=NotificationStatus.FAILED))  # fmt: skip
    session.commit()
    report = client.get("/api/v1/health/detail", headers=guarded).json()
    assert report["status"] == "degraded"
    assert set(report["degraded"]) >= {"timers", "notifier"}
    assert "readings" not in report["degraded"]
    assert report["parts"]["timers"]["oldest_overdue_seconds"] >= 299


def test_health_detail_when_the_database_is_down(tmp_path: object) -> None:
    settings = Settings(env="test", secret_key="s" * 40,
                        database_url="postgresql+psycopg://nobody@127.0.0.1:9/none")  # fmt: skip
    app = create_app(settings)
    app.state.metrics_settings = MetricsSettings(token=TOKEN)
    with TestClient(app) as client:
        got = client.get("/api/v1/health/detail", headers={"Authorization": f"Bearer {TOKEN}"})
    assert got.status_code == 503
    assert got.json()["degraded"] == ["database"]


def test_json_logs_carry_request_and_user_ids(
    app: FastAPI, client: TestClient, users: dict[Role, User],
    auth: Callable[[User], dict[str, str]],
) -> None:  # fmt: skip
    probe = logging.getLogger("eldercare.test.probe")

    @app.get("/test-log-probe")
    def log_probe(user: OptionalUser) -> dict[str, bool]:
        probe.warning("probe for elder %s", "id-only")
        return {"ok": True}

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    probe.addHandler(handler)
    try:
        got = client.get("/test-log-probe", headers=auth(users[Role.CAREGIVER]))
        anonymous = client.get("/test-log-probe", headers={"X-Request-ID": "given-id-1"})
    finally:
        probe.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["request_id"] == got.headers["X-Request-ID"]
    assert first["user_id"] == str(users[Role.CAREGIVER].id)
    assert first["level"] == "WARNING" and first["message"] == "probe for elder id-only"
    assert second["request_id"] == "given-id-1" == anonymous.headers["X-Request-ID"]
    assert "user_id" not in second
