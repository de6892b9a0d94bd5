"""Durable timers: claim the due rows, run each once, across restarts and processes.

A tick selects due `pending` rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so a second
process passes over rows the first holds) and claims each with a conditional UPDATE
(`... WHERE status = 'pending'`, which is the whole claim on SQLite). The claim, the step's
effects (timeline row, flags, notifications, NOTIFY) and the outcome commit together: a
crash mid-way rolls all of it back and the timer is still due, and no timer fires twice.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from server.alerts.config import AlertSettings
from server.alerts.models import Alert, AlertEvent, AlertTimer, TimerStatus
from server.alerts.policy import Action, Policy, Step
from server.auth.models import Role, User
from server.common.time import utcnow
from server.db import updated_one
from server.elders.models import Elder
from server.elders.service import display_name as elder_display_name
from server.i18n import DEFAULT_LOCALE, Locale, catalogue, translate
from server.notify import get_notifier
from server.realtime import mark_changed

# Plain UPDATEs: the ORM need not scan the identity map for matching objects (which made
# a batch of N timers cost N²); rows are re-read with populate_existing where needed.
NO_SYNC = {"synchronize_session": False}

log = logging.getLogger(__name__)

PROCESS_ID = f"{socket.gethostname()}:{os.getpid()}"[:100]
SUPERVISOR_TEMPLATES = {"escalate", "sla_breach"}


def _timeline_action(step: Step) -> str:
    if Action.REALARM in step.actions:
        return "escalated"
    if Action.SLA_BREACH in step.actions:
        return "sla_breach"
    if Action.REMIND in step.actions:
        return "reminder"
    return step.name


def _duration(seconds: int, locale: Locale) -> str:
    minutes, rest = divmod(seconds, 60)
    if not minutes:
        return translate("notify.duration.seconds", locale, seconds=rest)
    if not rest:
        return translate("notify.duration.minutes", locale, minutes=minutes)
    return translate("notify.duration.minutes_seconds", locale, minutes=minutes, seconds=rest)


def _supervisor_params(
    *, name: str, alert: Alert, step: Step, locale: Locale
) -> dict[str, str | int | float]:
    """Words, not codes: "สีแดง (วิกฤต)", "1 นาที", never "RED", "60" or a step's name."""
    step_key = f"notify.step.{step.name}"
    if step_key not in catalogue(locale):
        step_key = "notify.step.other"
    return {
        "name": name,
        "priority": translate(f"notify.priority.{alert.priority.value}", locale),
        "duration": _duration(step.after_seconds, locale),
        "ref": str(alert.id)[:8],
        "step": translate(step_key, locale),
    }


def _notify_supervisors(session: Session, *, alert: Alert, step: Step) -> None:
    elder = session.get(Elder, alert.elder_id)
    name = elder_display_name(elder) if elder else "?"
    template = step.name if step.name in SUPERVISOR_TEMPLATES else "generic"
    notifier = get_notifier()
    supervisors = session.exec(
        select(User).where(User.role == Role.SUPERVISOR, col(User.active).is_(True))
    ).all()
    key = f"notify.supervisor.{template}"
    notifier.console(
        session,
        to="role:supervisor",
        template_key=key,
        params=_supervisor_params(name=name, alert=alert, step=step, locale=DEFAULT_LOCALE),
        subject="alert",
        subject_id=alert.id,
    )
    for person in supervisors:
        if person.phone:
            locale: Locale = "en" if person.locale == "en" else "th"
            notifier.send_sms(
                session,
                to=person.phone,
                template_key=key,
                params=_supervisor_params(name=name, alert=alert, step=step, locale=locale),
                locale=locale,
                subject="alert",
                subject_id=alert.id,
            )


def _fire(session: Session, timer: AlertTimer, *, policy: Policy, now: datetime) -> TimerStatus:
    step = policy.step(timer.step)
    if step is None:
        log.warning("timers: step %r is not in policy %s; skipped", timer.step, policy.version)
        return TimerStatus.SKIPPED
    values: dict[str, Any] = {"version": Alert.version + 1}
    if Action.REALARM in step.actions:
        values["escalated_at"] = now
    if Action.SLA_BREACH in step.actions:
        values["sla_breached"] = True
    # The condition and the effect in one statement: an acknowledge racing this tick wins
    # or loses cleanly.
    if not updated_one(
        session,
        sa.update(Alert)
        .where(col(Alert.id) == timer.alert_id, col(Alert.status).in_(step.when_status))
        .values(**values),
        options=NO_SYNC,
    ):
        return TimerStatus.SKIPPED
    alert = session.get(Alert, timer.alert_id, populate_existing=True)
    assert alert is not None
    action = _timeline_action(step)
    session.add(
        AlertEvent(
            alert_id=alert.id,
            at=now,
            action=action,
            note_key=f"alerts.timeline.{action}",
            params={"seconds": step.after_seconds},
        )
    )
    if Action.NOTIFY_SUPERVISORS in step.actions:
        _notify_supervisors(session, alert=alert, step=step)
    mark_changed(session, alert.id)
    return TimerStatus.FIRED


def run_due(
    engine: Engine, *, policy: Policy, now: datetime | None = None, batch: int = 200
) -> int:
    """Fires every timer due by `now` (default: the clock); returns how many ran."""
    done = 0
    while True:
        handled = _run_batch(engine, policy=policy, now=now, batch=batch)
        done += handled
        if handled < batch:
            return done


def _run_batch(engine: Engine, *, policy: Policy, now: datetime | None, batch: int) -> int:
    cutoff = now or utcnow()
    with Session(engine, expire_on_commit=False) as session:
        query = (
            select(AlertTimer)
            .where(AlertTimer.status == TimerStatus.PENDING, col(AlertTimer.due_at) <= cutoff)
            .order_by(col(AlertTimer.due_at))
            .limit(batch)
        )
        if engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        timers = list(session.exec(query).all())
        for timer in timers:
            fired_at = now or utcnow()
            if not updated_one(
                session,
                sa.update(AlertTimer)
                .where(
                    col(AlertTimer.id) == timer.id, col(AlertTimer.status) == TimerStatus.PENDING
                )
                .values(status=TimerStatus.FIRED, fired_at=fired_at, fired_by=PROCESS_ID),
                options=NO_SYNC,
            ):
                continue  # another process ran it (SQLite's claim)
            if _fire(session, timer, policy=policy, now=fired_at) == TimerStatus.SKIPPED:
                session.execute(
                    sa.update(AlertTimer)
                    .where(col(AlertTimer.id) == timer.id)
                    .values(status=TimerStatus.SKIPPED),
                    execution_options=NO_SYNC,
                )
        session.commit()
        return len(timers)


def _tick(engine: Engine, settings: AlertSettings) -> None:
    try:
        run_due(engine, policy=settings.policy, batch=settings.batch)
    except sa.exc.OperationalError as exc:
        # SQLite busy or a lost connection: the rows are still due; the next tick retries.
        log.warning("timers: tick failed (%s); will retry", type(exc).__name__)


@contextmanager
def scheduler(engine: Engine, settings: AlertSettings) -> Iterator[BackgroundScheduler | None]:
    """APScheduler ticking in this process; the first tick runs at once (overdue timers)."""
    if not settings.scheduler:
        yield None
        return
    sched = BackgroundScheduler(daemon=True)
    sched.add_job(
        _tick,
        "interval",
        seconds=settings.tick_seconds,
        args=(engine, settings),
        id="alert-timers",
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(),
    )
    sched.start()
    try:
        yield sched
    finally:
        sched.shutdown(wait=True)
