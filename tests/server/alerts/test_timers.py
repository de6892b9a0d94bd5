"""Timers are rows: they fire once when due, only if their condition still holds."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from server.alerts.config import alert_settings
from server.alerts.models import Alert, AlertEvent, AlertTimer, TimerStatus
from server.alerts.timers import run_due
from server.auth.models import Role, User
from server.common.time import utcnow
from server.notify.models import Channel, Notification
from server.notify.service import render_message
from tests.server.alerts.procs import servers
from tests.support.alerts import raise_panic_alert
from tests.support.records import make_elder
from tests.support.tiers import postgres_admin_url

POLICY = alert_settings().policy


def _timeline(session: Session, alert_id: object) -> list[str]:
    return list(
        session.exec(
            select(AlertEvent.action)
            .where(AlertEvent.alert_id == alert_id)
            .order_by(col(AlertEvent.id))
        ).all()
    )


def _fired_at(session: Session, due: datetime, within: float = 15.0) -> datetime | None:
    """When the timer due at `due` fired, waiting up to `within` seconds for it (None if not)."""
    deadline = time.monotonic() + within
    while True:
        session.expire_all()
        fired = session.exec(
            select(AlertTimer.fired_at).where(
                AlertTimer.due_at == due, AlertTimer.status == TimerStatus.FIRED
            )
        ).first()
        if fired is not None or time.monotonic() > deadline:
            return fired
        time.sleep(0.05)


def test_escalation_fires_once_at_60_s_and_tells_supervisors(
    session: Session, users: dict[Role, User]
) -> None:
    from server.oncall import policies

    supervisor = users[Role.SUPERVISOR]
    supervisor.phone = "0811111111"
    session.add(supervisor)
    # No on-call chain applies (a RED policy with only the console): this policy texts the
    # supervisors (with a chain, the chain alone calls and texts: tests/server/oncall).
    policies.save_policy(
        session, priority="RED", body=policies.DEFAULT_POLICIES["WHITE"], actor=None
    )
    session.commit()
    engine = session.get_bind()
    elder = make_elder(session)
    alert_id = raise_panic_alert(session, elder.id).alert_id
    created = session.get(Alert, alert_id).created_at  # type: ignore[union-attr]
    assert run_due(engine, policy=POLICY, now=created + timedelta(seconds=59)) == 0
    assert run_due(engine, policy=POLICY, now=created + timedelta(seconds=61)) == 1
    assert run_due(engine, policy=POLICY, now=created + timedelta(seconds=62)) == 0
    session.expire_all()
    alert = session.get(Alert, alert_id)
    assert alert is not None and alert.escalated_at is not None
    assert _timeline(session, alert_id) == ["created", "escalated"]
    sent = session.exec(
        select(Notification.channel, Notification.to, Notification.template_key).where(
            Notification.template_key == "notify.supervisor.escalate"
        )
    ).all()
    assert sorted(sent) == [
        (Channel.CONSOLE, "role:supervisor", "notify.supervisor.escalate"),
        (Channel.SMS, "0811111111", "notify.supervisor.escalate"),
    ]
    # The text a supervisor's phone shows: the colour, the wait and the name in Thai words.
    sms = session.exec(
        select(Notification).where(
            Notification.channel == Channel.SMS,
            Notification.template_key == "notify.supervisor.escalate",
        )
    ).one()
    text = render_message(sms)
    assert text.startswith("ยกระดับเหตุ: เหตุสีแดง (วิกฤต) ของ บุญมา ศรีสุข"), text
    assert "เกิน 1 นาที" in text and "RED" not in text and "60" not in text.split(), text


def test_acknowledged_alert_skips_escalation_and_gets_reminder_then_sla(
    client: TestClient,
    session: Session,
    users: dict[Role, User],
    auth: Callable[[User], dict[str, str]],
) -> None:
    engine = session.get_bind()
    elder = make_elder(session)
    alert_id = raise_panic_alert(session, elder.id).alert_id
    created = session.get(Alert, alert_id).created_at  # type: ignore[union-attr]
    client.post(
        f"/api/v1/alerts/{alert_id}/acknowledge", json={}, headers=auth(users[Role.DISPATCHER])
    )
    assert run_due(engine, policy=POLICY, now=created + timedelta(minutes=11)) == 3
    session.expire_all()
    timers = {
        t.step: t.status
        for t in session.exec(select(AlertTimer).where(AlertTimer.alert_id == alert_id)).all()
    }
    assert timers == {
        "escalate": TimerStatus.SKIPPED,
        "dispatch_reminder": TimerStatus.FIRED,
        "sla_breach": TimerStatus.FIRED,
    }
    assert _timeline(session, alert_id) == ["created", "acknowledge", "reminder", "sla_breach"]
    alert = session.get(Alert, alert_id)
    assert alert is not None and alert.sla_breached and alert.escalated_at is None


def test_closed_alerts_fire_nothing(
    client: TestClient,
    session: Session,
    users: dict[Role, User],
    auth: Callable[[User], dict[str, str]],
) -> None:
    engine = session.get_bind()
    elder = make_elder(session)
    alert_id = raise_panic_alert(session, elder.id).alert_id
    client.post(
        f"/api/v1/alerts/{alert_id}/false-alarm",
        json={"note": "กดผิด"},
        headers=auth(users[Role.DISPATCHER]),
    )
    run_due(engine, policy=POLICY, now=utcnow() + timedelta(hours=1))
    session.expire_all()
    assert _timeline(session, alert_id) == ["created", "false_alarm"]
    statuses = session.exec(select(AlertTimer.status)).all()
    assert statuses and all(s == TimerStatus.SKIPPED for s in statuses)


def test_overdue_timers_fire_as_soon_as_the_server_starts(
    session: Session, settings: object
) -> None:
    """The scheduler's first tick runs at startup: timers that came due while down fire."""
    from server.main import create_app

    elder = make_elder(session)
    alert_id = raise_panic_alert(session, elder.id).alert_id
    session.execute(sa.update(AlertTimer).values(due_at=utcnow() - timedelta(minutes=30)))
    session.commit()
    app = create_app(settings)  # type: ignore[arg-type]
    started = time.monotonic()
    with TestClient(app):
        while time.monotonic() - started < 10:
            session.expire_all()
            pending = session.exec(
                select(AlertTimer).where(AlertTimer.status == TimerStatus.PENDING)
            ).all()
            if not pending:
                break
            time.sleep(0.05)
    app.state.engine.dispose()
    assert not pending, "overdue timers did not fire after start"
    assert "escalated" in _timeline(session, alert_id)


@pytest.mark.slow
def test_two_server_processes_fire_each_timer_exactly_once(
    db_url: str, session: Session, users: dict[Role, User]
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("several server processes share a database on PostgreSQL only")
    postgres_admin_url()
    elders = [make_elder(session) for _ in range(40)]
    alert_ids = [raise_panic_alert(session, e.id).alert_id for e in elders]
    # Half acknowledged, so escalations skip and reminders fire for those.
    acked = set(alert_ids[::2])
    session.execute(sa.update(Alert).where(col(Alert.id).in_(acked)).values(status="acknowledged"))
    # Not due until both processes are up (a batch fires in milliseconds, so the first one
    # ready would otherwise take every timer before the second had started).
    session.execute(sa.update(AlertTimer).values(due_at=utcnow() + timedelta(hours=1)))
    session.commit()
    total = len(session.exec(select(AlertTimer)).all())
    assert total == 120
    with servers(db_url, 2, tick=0.05, batch=3):
        # Due one after another over the next few seconds, so both processes are looking
        # while timers come due and each claims some.
        start = utcnow() + timedelta(seconds=1)
        order = [step.name for step in POLICY.steps]
        rows = session.exec(select(AlertTimer.id, AlertTimer.step)).all()
        # Steps of one alert come due in the policy's order, as they do in life.
        ids = [i for i, _ in sorted(rows, key=lambda r: (order.index(r[1]), str(r[0])))]
        for n, timer_id in enumerate(ids):
            session.execute(
                sa.update(AlertTimer)
                .where(col(AlertTimer.id) == timer_id)
                .values(due_at=start + timedelta(milliseconds=25 * n))
            )
        session.commit()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            session.expire_all()
            if not session.exec(
                select(AlertTimer).where(AlertTimer.status == TimerStatus.PENDING)
            ).all():
                break
            time.sleep(0.2)
    session.expire_all()
    timers = session.exec(select(AlertTimer)).all()
    assert all(t.status != TimerStatus.PENDING for t in timers)
    assert all(t.fired_by for t in timers)
    for alert_id in alert_ids:
        line = _timeline(session, alert_id)
        expected = ["reminder", "sla_breach"] if alert_id in acked else ["escalated", "sla_breach"]
        assert line == ["created", *expected], line
    # Each fired step told the supervisors exactly once (one console message each).
    console = session.exec(
        select(Notification).where(Notification.channel == Channel.CONSOLE)
    ).all()
    fired_steps = [
        t for t in timers if t.status == TimerStatus.FIRED and t.step != "dispatch_reminder"
    ]
    assert len(console) == len(fired_steps) == 60  # 20 escalations + 40 SLA breaches
    # Both processes took part: the claim, not luck, kept them apart.
    assert len({t.fired_by for t in timers}) == 2, {t.fired_by for t in timers}


def test_scheduler_wakes_for_a_new_timer_instead_of_waiting_out_its_tick(
    session: Session,
) -> None:
    """With a 30 s longest sleep, a timer written due in a moment still fires on time: the
    commit that wrote it wakes the scheduler, which then sleeps only until it is due."""
    from server.alerts.config import AlertSettings
    from server.alerts.timers import scheduler, timers_written

    engine = session.get_bind()
    elder = make_elder(session)
    alert_id = raise_panic_alert(session, elder.id).alert_id
    session.execute(sa.update(AlertTimer).values(due_at=utcnow() + timedelta(days=1)))
    session.commit()
    with scheduler(engine, AlertSettings(tick_seconds=30)) as running:  # type: ignore[arg-type]
        assert running is not None
        time.sleep(1.0)  # it has looked once and is asleep for up to 30 s
        due = utcnow() + timedelta(seconds=1)
        session.add(AlertTimer(alert_id=alert_id, step="escalate", due_at=due))
        timers_written(session)
        session.commit()
        fired = _fired_at(session, due)
    assert fired is not None, "the new timer did not fire within 15 s"
    # Not before it was due; on time to well within the 30 s it would otherwise sleep.
    assert timedelta(0) <= fired - due < timedelta(seconds=10)
    assert "escalated" in _timeline(session, alert_id)


def test_one_wake_notice_a_transaction_however_many_timers_it_writes(
    session: Session, engine: Engine
) -> None:
    """A batch of readings can open dozens of alerts in one transaction: one NOTIFY wakes the
    schedulers for all of them (PostgreSQL), and the next transaction sends its own."""
    from server.alerts.timers import timers_written

    notices: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "pg_notify" in statement and "''" in statement:
            notices.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(3):
            timers_written(session)
        session.commit()
        timers_written(session)
        session.commit()
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert len(notices) == (2 if engine.dialect.name == "postgresql" else 0)


def test_scheduler_outlives_a_failed_look_that_is_not_a_database_error(
    session: Session,
) -> None:
    """Its connection pool runs dry while a timer is due (the pool's own timeout, not an
    error from the database): the scheduler says so and tries again, and the timer still
    fires once a connection is free. A scheduler thread that died here would leave every
    later timer of this process unfired."""
    from server.alerts.config import AlertSettings
    from server.alerts.timers import scheduler
    from server.db import make_engine

    elder = make_elder(session)
    alert_id = raise_panic_alert(session, elder.id).alert_id
    session.execute(sa.update(AlertTimer).values(due_at=utcnow() + timedelta(days=1)))
    session.commit()
    url = session.get_bind().url.render_as_string(hide_password=False)
    engine = make_engine(url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    try:
        with engine.connect() as held:  # the only connection: the scheduler's looks fail
            held.execute(sa.text("SELECT 1"))
            with scheduler(engine, AlertSettings(tick_seconds=0.2)) as running:  # type: ignore[arg-type]
                assert running is not None
                time.sleep(1.0)
                due = utcnow()
                session.add(AlertTimer(alert_id=alert_id, step="escalate", due_at=due))
                session.commit()
                time.sleep(1.0)
                held.close()  # the connection is back in the pool
                fired = _fired_at(session, due)
    finally:
        engine.dispose()
    assert fired is not None, "the scheduler stopped firing after its pool ran dry"
    assert "escalated" in _timeline(session, alert_id)
