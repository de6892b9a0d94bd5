"""Durable timers: claim the due rows, run each once, across restarts and processes.

A tick selects due `pending` rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so a second
process passes over rows the first holds) and claims each with a conditional UPDATE
(`... WHERE status = 'pending'`, which is the whole claim on SQLite). The claim, the step's
effects (timeline row, flags, notifications, NOTIFY) and the outcome commit together: a
crash mid-way rolls all of it back and the timer is still due, and no timer fires twice.

The scheduler sleeps until the next due time, not a fixed tick: it is woken early when this
process commits a new timer, and on PostgreSQL when any process does (NOTIFY on
`alert_timers`). `tick_seconds` is only the longest it sleeps without news.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from server.alerts import hooks
from server.alerts.config import AlertSettings
from server.alerts.models import Alert, AlertEvent, AlertTimer, TimerStatus
from server.alerts.policy import Action, Policy, Step
from server.auth.models import Role, User
from server.common.time import utcnow
from server.elders.models import Elder
from server.elders.service import display_name as elder_display_name
from server.i18n import DEFAULT_LOCALE, Locale, catalogue, translate
from server.notify import get_notifier
from server.realtime import mark_many_changed
from server.telemetry import instruments as metrics

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


def _notify_supervisors(
    session: Session,
    *,
    alert: Alert,
    step: Step,
    supervisors: list[User] | None = None,
    elder: Elder | None = None,
    sms: bool = True,
) -> None:
    """The console line for supervisors, and an SMS to each unless the alert's phone
    escalation belongs to its on-call chain (one owner: nobody is texted twice)."""
    elder = elder or session.get(Elder, alert.elder_id)
    name = elder_display_name(elder) if elder else "?"
    template = step.name if step.name in SUPERVISOR_TEMPLATES else "generic"
    notifier = get_notifier()
    key = f"notify.supervisor.{template}"
    notifier.console(
        session,
        to="role:supervisor",
        template_key=key,
        params=_supervisor_params(name=name, alert=alert, step=step, locale=DEFAULT_LOCALE),
        subject="alert",
        subject_id=alert.id,
    )
    if not sms:
        return
    if supervisors is None:
        supervisors = _supervisors(session)
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


def _supervisors(session: Session) -> list[User]:
    return list(
        session.exec(
            select(User).where(User.role == Role.SUPERVISOR, col(User.active).is_(True))
        ).all()
    )


@dataclass(frozen=True)
class _Claimed:
    id: uuid.UUID
    alert_id: uuid.UUID
    step: str
    due_at: datetime


def _claim(session: Session, *, cutoff: datetime, fired_at: datetime, batch: int) -> list[_Claimed]:
    """Claims up to `batch` due timers in one statement and returns them, oldest first.

    The inner SELECT picks the due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so a second
    process passes over rows the first holds); the outer UPDATE's `status = 'pending'` is
    the claim itself (the whole of it on SQLite, where writers take turns).
    """
    due = (
        sa.select(col(AlertTimer.id))
        .where(col(AlertTimer.status) == TimerStatus.PENDING, col(AlertTimer.due_at) <= cutoff)
        .order_by(col(AlertTimer.due_at))
        .limit(batch)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    rows = session.execute(
        sa.update(AlertTimer)
        .where(
            col(AlertTimer.id).in_(due.scalar_subquery()),
            col(AlertTimer.status) == TimerStatus.PENDING,
        )
        .values(status=TimerStatus.FIRED, fired_at=fired_at, fired_by=PROCESS_ID)
        .returning(
            col(AlertTimer.id), col(AlertTimer.alert_id), col(AlertTimer.step),
            col(AlertTimer.due_at),
        ),
        execution_options=NO_SYNC,
    ).all()  # fmt: skip
    claimed = [_Claimed(*row) for row in rows]
    claimed.sort(key=lambda t: t.due_at)
    return claimed


def _fire_step(
    session: Session, step: Step, timers: list[_Claimed], *, now: datetime
) -> list[Alert]:
    """Runs one step for all of its claimed timers: one UPDATE of the alerts whose status
    still calls for it (the condition and the effect in one statement, so an acknowledge
    racing this wins or loses cleanly); returns the alerts it changed."""
    values: dict[str, Any] = {"version": Alert.version + 1}
    if Action.REALARM in step.actions:
        values["escalated_at"] = now
    if Action.SLA_BREACH in step.actions:
        values["sla_breached"] = True
    return list(
        session.execute(
            sa.update(Alert)
            .where(
                col(Alert.id).in_({t.alert_id for t in timers}),
                col(Alert.status).in_(step.when_status),
            )
            .values(**values)
            .returning(Alert),
            execution_options={**NO_SYNC, "populate_existing": True},
        ).scalars()
    )


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
    """One transaction, a fixed number of statements whatever the batch: the claim, one
    UPDATE per step kind, the timeline rows and messages in one flush, the skipped ones
    marked, one NOTIFY statement. A crash rolls all of it back and the timers stay due."""
    cutoff = now or utcnow()
    fired_at = now or utcnow()
    with Session(engine, expire_on_commit=False) as session:
        claimed = _claim(session, cutoff=cutoff, fired_at=fired_at, batch=batch)
        if not claimed:
            return 0
        by_step: dict[str, list[_Claimed]] = {}
        for timer in claimed:
            metrics.observe_timer(timer.due_at, fired_at)
            by_step.setdefault(timer.step, []).append(timer)
        skipped: list[uuid.UUID] = []
        changed: list[uuid.UUID] = []
        timeline: list[dict[str, Any]] = []
        to_tell: list[tuple[Alert, Step]] = []
        for name, timers in by_step.items():
            step = policy.step(name)
            if step is None:
                log.warning("timers: step %r is not in policy %s; skipped", name, policy.version)
                skipped.extend(t.id for t in timers)
                continue
            alerts = {a.id: a for a in _fire_step(session, step, timers, now=fired_at)}
            action = _timeline_action(step)
            for timer in timers:
                alert = alerts.get(timer.alert_id)
                if alert is None:
                    skipped.append(timer.id)
                    continue
                changed.append(alert.id)
                timeline.append(
                    {
                        "alert_id": alert.id,
                        "at": fired_at,
                        "action": action,
                        "note_key": f"alerts.timeline.{action}",
                        "params": {"seconds": step.after_seconds},
                    }
                )
                if Action.NOTIFY_SUPERVISORS in step.actions:
                    to_tell.append((alert, step))
        if timeline:
            session.execute(sa.insert(AlertEvent), timeline)
        if to_tell:
            _tell_supervisors(session, to_tell)
        if skipped:
            session.execute(
                sa.update(AlertTimer)
                .where(col(AlertTimer.id).in_(skipped))
                .values(status=TimerStatus.SKIPPED),
                execution_options=NO_SYNC,
            )
        mark_many_changed(session, changed)
        session.commit()
        return len(claimed)


def _tell_supervisors(session: Session, fired: list[tuple[Alert, Step]]) -> None:
    """The batch's elders and the supervisors in one query each (a message names the
    elder); the messages are written in one flush at commit, not one per timer."""
    elder_ids = {alert.elder_id for alert, _ in fired}
    elders = {e.id: e for e in session.exec(select(Elder).where(col(Elder.id).in_(elder_ids)))}
    # Alerts whose on-call chain calls and texts people: their steps here stay on the console.
    owned = hooks.phone_owned(session, [alert.id for alert, _ in fired])
    supervisors = _supervisors(session) if any(a.id not in owned for a, _ in fired) else []
    with session.no_autoflush:
        for alert, step in fired:
            _notify_supervisors(
                session,
                alert=alert,
                step=step,
                supervisors=supervisors,
                elder=elders.get(alert.elder_id),
                sms=alert.id not in owned,
            )


CHANNEL = "alert_timers"
_WRITTEN = "alert_timers_written"
# The running schedulers of this process, woken when a session here commits a new timer.
_schedulers: weakref.WeakSet[TimerScheduler] = weakref.WeakSet()


def timers_written(session: Session) -> None:
    """Called where timers are added: wakes the schedulers once the transaction commits
    (every process's on PostgreSQL, where the NOTIFY is transactional too)."""
    if session.info.get(_WRITTEN):
        return  # one NOTIFY a transaction: a batch of readings may open dozens of alerts
    session.info[_WRITTEN] = True
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


@event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    if session.info.pop(_WRITTEN, False):
        for running in list(_schedulers):
            running.wake()


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


class TimerScheduler:
    """Fires due timers in bulk, then sleeps until the next one is due (or news of a new
    one arrives), in a thread of its own."""

    # A timer due now that this process could not claim (another holds it) is retried
    # after this long rather than in a busy loop.
    MIN_SLEEP_S = 0.02

    def __init__(self, engine: Engine, settings: AlertSettings) -> None:
        self.engine = engine
        self.settings = settings
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alert-timers", daemon=True)
        self._listener: threading.Thread | None = None

    def start(self) -> None:
        _schedulers.add(self)
        if self.engine.dialect.name == "postgresql":
            self._listener = threading.Thread(
                target=self._listen, name="alert-timers-listen", daemon=True
            )
            self._listener.start()
        self._thread.start()

    def stop(self) -> None:
        _schedulers.discard(self)
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)
        if self._listener is not None:
            self._listener.join(timeout=5)

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        policy = self.settings.policy
        while not self._stop.is_set():
            self._wake.clear()
            try:
                run_due(self.engine, policy=policy, batch=self.settings.batch)
                sleep = self._until_next_due()
            except sa.exc.OperationalError as exc:
                # SQLite busy or a lost connection: the rows are still due; retry shortly.
                log.warning("timers: run failed (%s); will retry", type(exc).__name__)
                sleep = self.settings.tick_seconds
            except Exception:
                # Anything else (a dry connection pool, a bug in a step's effects): this
                # thread is the only one firing this process's timers, so it must not die.
                # The claim rolled back with the failed transaction; the rows are still due.
                log.exception("timers: run failed; will retry")
                sleep = self.settings.tick_seconds
            self._wake.wait(sleep)

    def _until_next_due(self) -> float:
        with self.engine.connect() as conn:
            due = conn.execute(
                sa.select(sa.func.min(col(AlertTimer.due_at))).where(
                    col(AlertTimer.status) == TimerStatus.PENDING
                )
            ).scalar_one_or_none()
        if due is None:
            return self.settings.tick_seconds
        if isinstance(due, str):  # SQLite's min() returns the stored text
            due = datetime.fromisoformat(due)
        if due.tzinfo is None:
            due = due.replace(tzinfo=utcnow().tzinfo)
        left = (due - utcnow()).total_seconds()
        return min(self.settings.tick_seconds, max(self.MIN_SLEEP_S, left))

    def _listen(self) -> None:
        conninfo = self.engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        while not self._stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    # Timers written while not listening are found by the next look.
                    self.wake()
                    while not self._stop.is_set():
                        for _ in conn.notifies(timeout=0.5):
                            self.wake()
            except psycopg.Error as exc:
                log.warning("timers: LISTEN connection lost (%s); retrying", type(exc).__name__)
                time.sleep(1.0)


@contextmanager
def scheduler(engine: Engine, settings: AlertSettings) -> Iterator[TimerScheduler | None]:
    """The timer scheduler running in this process; it looks at once (overdue timers)."""
    if not settings.scheduler:
        yield None
        return
    running = TimerScheduler(engine, settings)
    running.start()
    try:
        yield running
    finally:
        running.stop()
