"""Alerts opened by hand for a phone-in emergency: the elder or a neighbour calls the centre.

They run the same lifecycle, timers and clocks as a press; the reason the dispatcher typed is
the alert's first reason and its first timeline note, and the opening is audited.
"""

from __future__ import annotations

import uuid

from sqlmodel import Session

import triage
from server.alerts import service
from server.alerts.models import AlertEvent, AlertKind
from server.audit import service as audit
from server.auth.models import User
from server.common.time import utcnow
from server.elders.models import Elder
from server.errors import ApiError

REASON_KEY = "alerts.reason.phone_call"


def open_phone_call(
    session: Session,
    *,
    user: User,
    elder_id: uuid.UUID,
    priority: triage.Priority,
    reason: str,
    request_id: str | None,
) -> uuid.UUID:
    """Opens (or joins) the elder's phone-call alert. Adds; the caller commits."""
    elder = session.get(Elder, elder_id)
    if elder is None:
        raise ApiError(404, "not_found", "common.not_found")
    raised = service.raise_alert(
        session,
        elder_id=elder.id,
        kind=AlertKind.PHONE_CALL,
        priority=priority,
        reasons=[triage.Reason(key=REASON_KEY, params={"reason": reason})],
    )
    session.add(
        AlertEvent(
            alert_id=raised.alert_id,
            at=utcnow(),
            action="note",
            actor_id=user.id,
            actor_name=user.full_name,
            note=reason,
        )
    )
    audit.record(
        session, actor=user, action="create", entity="alert", entity_id=raised.alert_id,
        elder_id=elder.id, fields=["kind", "priority", "reason"], request_id=request_id,
        detail={"kind": AlertKind.PHONE_CALL.value, "priority": priority.value,
                "joined": raised.joined},
    )  # fmt: skip
    return raised.alert_id
