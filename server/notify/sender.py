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
import time
import uuid
import weakref
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
from server.notify.service import RecordingNotifier
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


# When each engine's database was last looked at for stale rows (one look every few
# seconds is plenty: a row is stale only after minutes).
_stale_looked: weakref.WeakKeyDictionary[Engine, float] = weakref.WeakKeyDictionary()
STALE_LOOK_EVERY_S = 5.0


def _give_up_stale(session: Session, *, settings: NotifySettings, now: datetime) -> None:
    """A row claimed by a process that died mid-send: whether it went out is unknown. It is
    failed, not sent again (a second call or SMS is the worse mistake), and said on the
    timeline; the escalation chain goes on by time regardless."""
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    looked = _stale_looked.get(engine)
    if looked is not None and time.monotonic() - looked < STALE_LOOK_EVERY_S:
        return
    _stale_looked[engine] = time.monotonic()
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
    """Claims up to a batch of due rows in one conditional UPDATE (a row another process
    claimed first is not returned); a number over its per-minute limit waits."""
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
        allowed: list[Notification] = []
        waiting: list[uuid.UUID] = []
        for row in rows:
            if counts[row.to] >= settings.per_number_per_minute:
                waiting.append(row.id)
                continue
            counts[row.to] += 1
            allowed.append(row)
        if waiting:
            session.execute(
                sa.update(Notification)
                .where(col(Notification.id).in_(waiting))
                .values(next_attempt_at=now + timedelta(seconds=10)),
                execution_options=NO_SYNC,
            )
            log.warning(
                "sender: %d messages wait for their number's per-minute limit", len(waiting)
            )
        claimed_ids: set[uuid.UUID] = set()
        if allowed:
            claimed_ids = set(
                session.execute(
                    sa.update(Notification)
                    .where(
                        col(Notification.id).in_([r.id for r in allowed]),
                        col(Notification.status) == NotificationStatus.QUEUED,
                    )
                    .values(
                        status=NotificationStatus.SENDING,
                        claimed_by=PROCESS_ID,
                        attempts=Notification.attempts + 1,
                        sent_at=now,
                        updated_at=now,
                    )
                    .returning(col(Notification.id)),
                    execution_options=NO_SYNC,
                ).scalars()
            )
        session.commit()
        claimed = [r for r in allowed if r.id in claimed_ids]
        for row in claimed:
            row.attempts += 1
        return claimed


def _attempt(transport: Transport, row: Notification) -> tuple[str | None, SendFailed | None]:
    try:
        return transport.send(row), None
    except SendFailed as exc:
        return None, exc
    except Exception as exc:  # a bug must not lose the message: retried, then failed
        log.exception("sender: unexpected error sending %s", row.id)
        return None, SendFailed(f"error: {type(exc).__name__}", retry=True)


def _record_all(
    session: Session,
    outcomes: list[tuple[Notification, str | None, SendFailed | None]],
    *,
    settings: NotifySettings,
    now: datetime,
) -> None:
    """Every outcome of a pass in a few executemany UPDATEs (one per kind of outcome)."""
    sent: list[dict[str, object]] = []
    again: list[dict[str, object]] = []
    failed: list[dict[str, object]] = []
    for row, ref, error in outcomes:
        if error is None:
            sent.append({"nid": row.id, "ref": ref})
        elif error.retry and row.attempts < settings.max_attempts:
            again.append(
                {"nid": row.id, "due": now + _backoff(row.attempts, settings),
                 "err": str(error)[:500]}
            )  # fmt: skip
        else:
            failed.append({"nid": row.id, "err": str(error)[:500]})
            fall_back_to_sms(session, row)
            for hook in failed_hooks:
                hook(session, row)
    # Core, not ORM, statements: a list of parameters is then one executemany (pipelined
    # by psycopg), not an ORM bulk update by primary key.
    table: sa.Table = Notification.__table__  # type: ignore[attr-defined]
    by_id = table.c.id == sa.bindparam("nid")
    if sent:
        session.execute(
            sa.update(table)
            .where(by_id)
            .values(
                status=NotificationStatus.SENT,
                provider_ref=sa.bindparam("ref"),
                provider_status="queued",
                updated_at=now,
            ),
            sent,
        )
    if again:
        session.execute(
            sa.update(table)
            .where(by_id)
            .values(
                status=NotificationStatus.QUEUED,
                next_attempt_at=sa.bindparam("due"),
                error=sa.bindparam("err"),
                sent_at=None,
                updated_at=now,
            ),
            again,
        )
    if failed:
        session.execute(
            sa.update(table)
            .where(by_id)
            .values(status=NotificationStatus.FAILED, error=sa.bindparam("err"), updated_at=now),
            failed,
        )


def send_due(
    engine: Engine,
    transport: Transport,
    *,
    settings: NotifySettings,
    now: datetime | None = None,
    pool: ThreadPoolExecutor | None = None,
) -> int:
    """One pass: claims what is due, sends it (at most `pool`'s threads at once), records
    each outcome. Returns how many it tried."""
    claimed = _claim(engine, channels=transport.channels, settings=settings, now=now or utcnow())
    if not claimed:
        return 0
    if pool is not None and len(claimed) > 1:
        results = list(pool.map(lambda r: _attempt(transport, r), claimed))
    else:
        results = [_attempt(transport, r) for r in claimed]
    finished = now or utcnow()
    with Session(engine, expire_on_commit=False) as session:
        _record_all(
            session,
            [(row, ref, error) for row, (ref, error) in zip(claimed, results, strict=True)],
            settings=settings,
            now=finished,
        )
        session.commit()
    return len(claimed)


def find_by_id(session: Session, notification_id: uuid.UUID) -> Notification | None:
    return session.get(Notification, notification_id)
