"""The emergency path for a critical (RED) reading taken at a visit, or a clinician's alert.

The alert is opened (or joined, if one is open for the same home) in the caller's
transaction, so the reading, its review item and its alert are committed together.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

import triage
from server.alerts import service as alerts
from server.alerts.models import AlertKind


@dataclass(frozen=True)
class AlertOutcome:
    status: str  # "raised" (a new alert) or "joined" (the open one for this home)
    alert_id: uuid.UUID | None = None


def raise_vitals_alert(
    session: Session,
    *,
    elder_id: uuid.UUID,
    priority: triage.Priority,
    reasons: Sequence[triage.Reason],
    observation_id: uuid.UUID | None,
    occurred_at: datetime,
) -> AlertOutcome:
    raised = alerts.raise_alert(
        session,
        elder_id=elder_id,
        kind=AlertKind.VITALS,
        priority=priority,
        reasons=list(reasons),
        observation_id=observation_id,
        occurred_at=occurred_at,
    )
    return AlertOutcome(status="joined" if raised.joined else "raised", alert_id=raised.alert_id)
