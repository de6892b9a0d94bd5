"""The one place this domain calls the alerts domain (raise and clear alerts)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

import triage
from server.alerts import service as alerts
from server.alerts.models import AlertKind


def raise_alert(
    session: Session,
    *,
    elder_id: uuid.UUID,
    kind: str,
    priority: triage.Priority,
    reasons: Sequence[triage.Reason],
    risk: float = 0.0,
    test: bool = False,
    source_event_id: uuid.UUID | None = None,
    observation_id: uuid.UUID | None = None,
    device_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
) -> uuid.UUID:
    """Adds the alert to the caller's transaction; the caller commits, then consoles hear."""
    raised = alerts.raise_alert(
        session,
        elder_id=elder_id,
        kind=AlertKind(kind),
        priority=priority,
        reasons=list(reasons),
        risk=risk,
        test=test,
        source_event_id=source_event_id,
        observation_id=observation_id,
        device_id=device_id,
        occurred_at=occurred_at,
    )
    alert_id: uuid.UUID = raised.alert_id
    return alert_id


@dataclass(frozen=True)
class ReadingAlert:
    """An abnormal reading's alert, to raise with the others of its batch."""

    elder_id: uuid.UUID
    priority: triage.Priority
    reasons: Sequence[triage.Reason]
    risk: float
    observation_id: uuid.UUID
    device_id: uuid.UUID | None
    occurred_at: datetime


def raise_reading_alerts(session: Session, readings: Sequence[ReadingAlert]) -> None:
    """Each reading opens an alert or joins its home's open one, as `raise_alert` would one
    by one, in a few statements for the whole batch. The caller commits."""
    alerts.raise_alerts(
        session,
        [
            alerts.AlertRequest(
                elder_id=r.elder_id,
                kind=AlertKind.VITALS,
                priority=r.priority,
                reasons=r.reasons,
                risk=r.risk,
                source_event_id=r.observation_id,
                observation_id=r.observation_id,
                device_id=r.device_id,
                occurred_at=r.occurred_at,
            )
            for r in readings
        ],
    )


def resolve_maintenance_alert(
    session: Session,
    *,
    elder_id: uuid.UUID,
    device_id: uuid.UUID,
    kind: str,
    note_key: str,
    params: dict[str, Any],
) -> uuid.UUID | None:
    resolved: uuid.UUID | None = alerts.resolve_maintenance_alert(
        session,
        elder_id=elder_id,
        device_id=device_id,
        kind=AlertKind(kind),
        note_key=note_key,
        params=params,
    )
    return resolved
