"""What the database says about the running system: the gauges and the health checks share it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from server.alerts.models import OPEN_STATUSES, Alert, AlertTimer, TimerStatus
from server.care.models import SyncReceipt
from server.common.time import utcnow
from server.devices.models import HubStatus, PendingReading
from server.notify.models import Notification, NotificationStatus


@dataclass
class SystemState:
    database_ok: bool
    database_seconds: float | None
    database_error: str | None = None
    open_alerts: dict[tuple[str, str], int] = field(default_factory=dict)
    hubs_online: int = 0
    hubs_offline: int = 0
    readings_queue: int = 0
    readings_oldest_seconds: float = 0.0
    timers_overdue: int = 0
    timers_oldest_overdue_seconds: float = 0.0
    notifications: dict[tuple[str, str], int] = field(default_factory=dict)
    sync: dict[tuple[str, str], int] = field(default_factory=dict)


def read_state(engine: Engine, *, now: datetime | None = None, window: timedelta) -> SystemState:
    """A handful of indexed queries; any failure is reported as the database being down."""
    now = now or utcnow()
    started = utcnow()
    try:
        with Session(engine) as session:
            session.execute(sa.text("SELECT 1"))
            elapsed = (utcnow() - started).total_seconds()
            state = SystemState(database_ok=True, database_seconds=elapsed)
            for priority, status, n in session.exec(
                select(Alert.priority, Alert.status, func.count())
                .where(col(Alert.status).in_([s.value for s in OPEN_STATUSES]))
                .group_by(Alert.priority, Alert.status)
            ).all():
                state.open_alerts[(str(priority), str(status))] = int(n)
            offline = session.exec(
                select(func.count()).select_from(HubStatus)
                .where(col(HubStatus.offline_since).is_not(None))
            ).one()  # fmt: skip
            total = session.exec(select(func.count()).select_from(HubStatus)).one()
            state.hubs_offline, state.hubs_online = int(offline), int(total) - int(offline)
            queue, oldest = session.exec(
                select(func.count(), func.min(PendingReading.queued_at))
            ).one()
            state.readings_queue = int(queue)
            if oldest is not None:
                state.readings_oldest_seconds = max(0.0, (now - _aware(oldest)).total_seconds())
            overdue, oldest_due = session.exec(
                select(func.count(), func.min(AlertTimer.due_at)).where(
                    AlertTimer.status == TimerStatus.PENDING, col(AlertTimer.due_at) < now
                )
            ).one()
            state.timers_overdue = int(overdue)
            if oldest_due is not None:
                state.timers_oldest_overdue_seconds = max(
                    0.0, (now - _aware(oldest_due)).total_seconds()
                )
            since = now - window
            for channel, status, n in session.exec(
                select(Notification.channel, Notification.status, func.count())
                .where(col(Notification.created_at) >= since)
                .group_by(Notification.channel, Notification.status)
            ).all():
                state.notifications[(str(channel), str(status))] = int(n)
            for kind, result, n in session.exec(
                select(SyncReceipt.kind, SyncReceipt.result, func.count())
                .where(col(SyncReceipt.at) >= now - timedelta(hours=24))
                .group_by(SyncReceipt.kind, SyncReceipt.result)
            ).all():
                state.sync[(kind, result)] = int(n)
            return state
    except Exception as exc:  # a monitoring read must answer, whatever happened
        return SystemState(database_ok=False, database_seconds=None,
                           database_error=type(exc).__name__)  # fmt: skip


def _aware(value: datetime) -> datetime:
    from server.common.time import as_utc

    return as_utc(value)


def failed_notifications(state: SystemState) -> tuple[int, int]:
    failed = sum(n for (_, status), n in state.notifications.items()
                 if status == NotificationStatus.FAILED.value)  # fmt: skip
    return failed, sum(state.notifications.values())
