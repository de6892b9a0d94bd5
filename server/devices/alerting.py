"""The one place this domain calls the alerts domain (raise and clear alerts)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
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
