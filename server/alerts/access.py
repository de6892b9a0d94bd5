"""What a dispatcher may open: identity and location always, the clinical record only while
an emergency involves the elder (an open alert, or one closed within the window)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlmodel import Session, col, or_, select

from server.alerts.models import OPEN_STATUSES, Alert
from server.auth.models import Role, User
from server.common.time import utcnow
from server.elders import service as elders

# After an alert closes the dispatcher may still need the record (a callback, a hand-over
# to the hospital); after a day it is no longer part of an emergency.
CLINICAL_WINDOW = timedelta(hours=24)
# Roles whose access to clinical data depends on an emergency being under way.
EMERGENCY_SCOPED = frozenset({Role.DISPATCHER})


def emergency_clause(now: datetime | None = None) -> object:
    """A WHERE clause over Alert: open, or closed within the window."""
    since = (now or utcnow()) - CLINICAL_WINDOW
    return or_(col(Alert.status).in_(OPEN_STATUSES), col(Alert.closed_at) >= since)


def elders_in_emergency(
    session: Session, elder_ids: Collection[uuid.UUID], *, now: datetime | None = None
) -> set[uuid.UUID]:
    if not elder_ids:
        return set()
    rows = session.exec(
        select(Alert.elder_id)
        .where(col(Alert.elder_id).in_(list(elder_ids)), emergency_clause(now))  # type: ignore[arg-type]
        .distinct()
    ).all()
    return set(rows)


def clinical_open(session: Session, *, user: User, elder_id: uuid.UUID) -> bool:
    """May `user` see this elder's clinical record now? (Other roles: their usual scoping.)"""
    if user.role not in EMERGENCY_SCOPED:
        return True
    return bool(elders_in_emergency(session, [elder_id]))


elders.gate_clinical_with(
    lambda session, user, elder_id: clinical_open(session, user=user, elder_id=elder_id)
)
