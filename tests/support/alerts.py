"""Alerts raised straight through the service, with the reasons triage gives them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlmodel import Session

import triage
from server.alerts.models import AlertKind
from server.alerts.service import RaisedAlert, raise_alert


def raise_panic_alert(
    session: Session,
    elder_id: uuid.UUID,
    *,
    test: bool = False,
    source_event_id: uuid.UUID | None = None,
    commit: bool = True,
) -> RaisedAlert:
    result = triage.prioritise_event(kind="panic", test=test)
    assert result.priority is not None
    raised = raise_alert(
        session,
        elder_id=elder_id,
        kind=AlertKind.PANIC,
        priority=result.priority,
        reasons=result.reasons,
        risk=result.risk,
        test=test,
        source_event_id=source_event_id,
    )
    if commit:
        session.commit()
    return raised


def raise_vitals_alert(
    session: Session, elder_id: uuid.UUID, readings: Mapping[str, float], *, test: bool = False
) -> RaisedAlert:
    """An alert from home readings, with the reasons triage gives them."""
    vitals = triage.assess_vitals(readings=readings)
    result = triage.prioritise_event(kind="vitals", vitals=vitals, test=test)
    assert result.priority is not None
    raised = raise_alert(
        session,
        elder_id=elder_id,
        kind=AlertKind.VITALS,
        priority=result.priority,
        reasons=result.reasons,
        risk=result.risk,
        test=test,
    )
    session.commit()
    return raised
