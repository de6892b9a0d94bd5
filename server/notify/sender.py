"""The sender loop: notification rows written with an alert change, sent after the commit.

A pass claims due `queued` rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL; on both databases a
conditional `UPDATE … WHERE status = 'queued'` is the claim itself), commits the claim, then
sends outside any transaction, so a slow provider never holds a lock and no row is sent by
two processes. A 5xx or a timeout is retried with backoff; a 4xx fails at once. A number
that already had `per_number_per_minute` messages in the last minute waits.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from server.common.time import utcnow
from server.notify.config import NotifySettings
from server.notify.line import fall_back_to_sms
from server.notify.models import Channel, Notification, NotificationStatus
from server.notify.service import RecordingNotifier, mask_recipient
from server.notify.twilio_api import SendFailed

log = logging.getLogger(__name__)

NO_SYNC = {"synchronize_session": False}
PROCESS_ID = f"{socket.gethostname()}:{os.getpid()}"[:100]
COUNTED = (NotificationStatus.SENDING, NotificationStatus.SENT, NotificationStatus.DELIVERED)


FailedHook = Callable[[Session, Notification], None]
# Told of each message that failed for good (e.g. to put it on an alert's timeline).
failed_hooks: list[FailedHook] = []


def on_failed(hook: FailedHook) -> None:
    if hook not in failed_hooks:
        failed_hooks.append(hook)


class QueueingNotifier(RecordingNotifier):
    """Writes SMS and calls as `queued` rows for the sender loop; the console stays recorded."""

    def __init__(self, sends: frozenset[Channel] = frozenset({Channel.SMS, Channel.VOICE})) -> None:
        self.sends = sends


class Transport(Protocol):
    channels: frozenset[Channel]

    def send(self, notification: Notification) -> str: ...


def _backoff(attempts: int, settings: NotifySettings) -> timedelta:
    seconds = min(
        settings.backoff_seconds * 2 ** max(attempts - 1, 0), settings.backoff_max_seconds
    )
    return timedelta(seconds=seconds)


def _recent_counts(session: Session, numbers: Iterable[str], since: datetime) -> Counter[str]:
    rows = session.exec(
        select(Notification.to, func.count())
        .where(
            col(Notification.to).in_(set(numbers)),
            col(Notification.status).in_(COUNTED),
            col(Notification.sent_at) >= since,
        )
        .group_by(col(Notification.to))
    ).all()
    return Counter({to: int(n) for to, n in rows})


def _give_up_stale(session: Session, *, settings: NotifySettings, now: datetime) -> None:
    """A row claimed by a process that died mid-send: whether it went out is unknown. It is
    failed, not sent again (a second call or SMS is the worse mistake), and said on the
    timeline; the escalation chain goes on by time regardless."""
    cutoff = now - timedelta(seconds=settings.request_timeout_seconds * 3 + 30)
    stale = session.exec(
        select(Notification).where(
            Notification.status == NotificationStatus.SENDING,
            col(Notification.updated_at) < cutoff,
        )
    ).all()
    for row in stale:
        result = session.execute(
            sa.update(Notification)
            .where(
                col(Notification.id) == row.id,
                col(Notification.status) == NotificationStatus.SENDING,
            )
            .values(
                status=NotificationStatus.FAILED,
                error="outcome unknown: the sender stopped while sending",
                updated_at=now,
            ),
            execution_options=NO_SYNC,
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            log.warning("sender: %s was left mid-send; marked failed", row.id)
            for hook in failed_hooks:
                hook(session, row)


def _claim(
    engine: Engine, *, channels: frozenset[Channel], settings: NotifySettings, now: datetime
) -> list[Notification]:
    with Session(engine, expire_on_commit=False) as session:
        _give_up_stale(session, settings=settings, now=now)
        query = (
            select(Notification)
            .where(
                Notification.status == NotificationStatus.QUEUED,
                col(Notification.channel).in_(channels),
                col(Notification.next_attempt_at) <= now,
            )
            .order_by(col(Notification.next_attempt_at))
            .limit(settings.batch)
        )
        if engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = list(session.exec(query).all())
        if not rows:
            session.commit()
            return []
        counts = _recent_counts(session, (r.to for r in rows), now - timedelta(minutes=1))
        claimed: list[Notification] = []
        for row in rows:
            if counts[row.to] >= settings.per_number_per_minute:
                session.execute(
                    sa.update(Notification)
                    .where(col(Notification.id) == row.id)
                    .values(next_attempt_at=now + timedelta(seconds=10)),
                    execution_options=NO_SYNC,
                )
                log.warning(
                    "sender: %s is over its per-minute limit; waits", mask_recipient(row.to)
                )
                continue
            result = session.execute(
                sa.update(Notification)
                .where(
                    col(Notification.id) == row.id,
                    col(Notification.status) == NotificationStatus.QUEUED,
                )
                .values(
                    status=NotificationStatus.SENDING,
                    claimed_by=PROCESS_ID,
                    attempts=Notification.attempts + 1,
                    sent_at=now,
                    updated_at=now,
                ),
                execution_options=NO_SYNC,
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                counts[row.to] += 1
                row.attempts += 1
                claimed.append(row)
        session.commit()
        return claimed


def _attempt(transport: Transport, row: Notification) -> tuple[str | None, SendFailed | None]:
    try:
        return transport.send(row), None
    except SendFailed as exc:
        return None, exc
    except Exception as exc:  # a bug must not lose the message: retried, then failed
        log.exception("sender: unexpected error sending %s", row.id)
        return None, SendFailed(f"error: {type(exc).__name__}", retry=True)


def _record(
    session: Session,
    row: Notification,
    *,
    ref: str | None,
    error: SendFailed | None,
    settings: NotifySettings,
    now: datetime,
) -> None:
    values: dict[str, object] = {"updated_at": now}
    if error is None:
        values.update(status=NotificationStatus.SENT, provider_ref=ref, provider_status="queued")
    elif error.retry and row.attempts < settings.max_attempts:
        values.update(
            status=NotificationStatus.QUEUED,
            next_attempt_at=now + _backoff(row.attempts, settings),
            error=str(error)[:500],
            sent_at=None,
        )
    else:
        values.update(status=NotificationStatus.FAILED, error=str(error)[:500])
        fall_back_to_sms(session, row)
        for hook in failed_hooks:
            hook(session, row)
    session.execute(
        sa.update(Notification).where(col(Notification.id) == row.id).values(**values),
        execution_options=NO_SYNC,
    )


def send_due(
    engine: Engine,
    transport: Transport,
    *,
    settings: NotifySettings,
    now: datetime | None = None,
    pool: ThreadPoolExecutor | None = None,
) -> int:
    """One pass: claims what is due, sends it, records each outcome. Returns how many tried."""
    claimed = _claim(engine, channels=transport.channels, settings=settings, now=now or utcnow())
    if not claimed:
        return 0
    if pool is not None and len(claimed) > 1:
        outcomes = list(pool.map(lambda r: _attempt(transport, r), claimed))
    else:
        outcomes = [_attempt(transport, r) for r in claimed]
    finished = now or utcnow()
    with Session(engine, expire_on_commit=False) as session:
        for row, (ref, error) in zip(claimed, outcomes, strict=True):
            _record(session, row, ref=ref, error=error, settings=settings, now=finished)
        session.commit()
    return len(claimed)


def find_by_id(session: Session, notification_id: uuid.UUID) -> Notification | None:
    return session.get(Notification, notification_id)
