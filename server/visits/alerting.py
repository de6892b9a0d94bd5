"""The emergency path for a critical (RED) reading taken at a visit.

When the alerts domain is installed its `raise_alert` opens (or joins) a VITALS alert in the
caller's transaction; until then the reading is only flagged for it, so nothing is lost and
the review queue shows that the alert is pending.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType

from sqlmodel import Session

import triage


@dataclass(frozen=True)
class AlertOutcome:
    status: str  # "raised", "joined" or "pending" (no emergency path installed)
    alert_id: uuid.UUID | None = None


def _alerts_service() -> ModuleType | None:
    try:
        return importlib.import_module("server.alerts.service")
    except ModuleNotFoundError:
        return None


def raise_vitals_alert(
    session: Session,
    *,
    elder_id: uuid.UUID,
    priority: triage.Priority,
    reasons: Sequence[triage.Reason],
    observation_id: uuid.UUID | None,
    occurred_at: datetime,
) -> AlertOutcome:
    service = _alerts_service()
    if service is None:
        return AlertOutcome(status="pending")
    kind_enum = getattr(service, "AlertKind", None)
    if kind_enum is None:
        kind_enum = importlib.import_module("server.alerts.models").AlertKind
    raised = service.raise_alert(
        session,
        elder_id=elder_id,
        kind=kind_enum.VITALS,
        priority=priority,
        reasons=list(reasons),
        observation_id=observation_id,
        occurred_at=occurred_at,
    )
    return AlertOutcome(
        status="raised" if raised.created else "joined", alert_id=uuid.UUID(str(raised.alert_id))
    )
