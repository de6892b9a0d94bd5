"""Visits due on the caseload: overdue and the coming days, by caregiver and community."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select

from server.audit import service as audit
from server.auth.models import Role, User
from server.care.models import Visit
from server.common.time import utcnow
from server.elders.models import Elder
from server.elders.service import display_name
from server.manager.access import caseload_query
from server.manager.caseload import OPEN_VISIT, people
from server.manager.schemas import DueVisit, DueVisitsOut, Person


def due_visits(session: Session, *, user: User, days: int, request_id: str | None) -> DueVisitsOut:
    now = utcnow()
    ids = caseload_query(user).subquery()
    rows = session.exec(
        select(Visit, Elder)
        .join(Elder, col(Elder.id) == col(Visit.elder_id))
        .where(
            col(Visit.elder_id).in_(select(ids.c.id)),
            col(Visit.status).in_(OPEN_VISIT),
            col(Visit.due_by).is_not(None),
            col(Visit.due_by) <= now + timedelta(days=days),
        )
        .order_by(col(Visit.due_by))
    ).all()
    out = [
        DueVisit(
            id=v.id, version=v.version, elder_id=e.id, elder_name=display_name(e),
            community=e.community, role=v.role, reason=v.reason, status=v.status,
            due_by=v.due_by, assigned_to=v.assigned_to,
            overdue=v.due_by is not None and v.due_by < now,
        )
        for v, e in rows
    ]  # fmt: skip
    caregivers = session.exec(
        select(User.id, User.full_name)
        .where(col(User.role).in_((Role.CAREGIVER, Role.CARE_MANAGER)), col(User.active))
        .order_by(User.full_name)
    ).all()  # fmt: skip
    # A follow-up visit's reason says a reading was abnormal: shown, so audited as read.
    audit.record_reads(
        session, actor=user, entity="visit", elder_ids=sorted({v.elder_id for v in out}),
        fields=["visit_schedule"], request_id=request_id,
    )  # fmt: skip
    return DueVisitsOut(
        visits=out,
        people=people(session, {v.assigned_to for v in out if v.assigned_to}),
        caregivers=[Person(id=i, name=n) for i, n in caregivers],
    )
