"""Visits as tasks with a due window, made from the care plan; today's list; overdue visits.

Each role in the plan's frequencies keeps exactly one open plan visit per elder: when it is
completed (or missed) the next one is due `every_days` after it. An abnormal reading asks for
an earlier one (a follow-up visit), unless an open visit already falls due soon enough.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

import triage
from server.audit import service as audit
from server.auth.models import Role, User
from server.care.access import elder_name
from server.care.models import CarePlan, Visit, VisitReason, VisitRole, VisitStatus
from server.care.schemas import Frequency, TodayItem, VisitOut
from server.care.seq import next_seq
from server.common.time import BANGKOK, utcnow
from server.elders import service as elders
from server.elders.models import Elder

OPEN = (VisitStatus.SCHEDULED, VisitStatus.IN_PROGRESS)
# How soon a follow-up is due after an abnormal reading, by triage priority.
FOLLOW_UP_DAYS = {triage.Priority.RED: 1, triage.Priority.YELLOW: 1, triage.Priority.GREEN: 3}
ROLE_OF_USER = {
    Role.CAREGIVER: VisitRole.CAREGIVER,
    Role.CARE_MANAGER: VisitRole.CARE_MANAGER,
    Role.CLINICIAN: VisitRole.CLINICIAN,
    Role.VOLUNTEER: VisitRole.VOLUNTEER,
}


def is_overdue(visit: Visit, now: datetime) -> bool:
    return visit.status in OPEN and visit.due_by is not None and visit.due_by < now


def visit_out(visit: Visit, now: datetime | None = None) -> VisitOut:
    data = visit.model_dump()
    data["overdue"] = is_overdue(visit, now or utcnow())
    return VisitOut.model_validate(data)


def assignee_for(elder: Elder, role: VisitRole) -> uuid.UUID | None:
    if role == VisitRole.CAREGIVER:
        return elder.caregiver_id
    if role == VisitRole.CARE_MANAGER:
        return elder.care_manager_id
    if role == VisitRole.VOLUNTEER:
        return elder.volunteer_id
    return None


def _window(due: datetime, freq: Frequency) -> tuple[datetime, datetime]:
    return due - timedelta(days=freq.window_days), due + timedelta(days=freq.window_days)


def ensure_schedule(session: Session, *, plan: CarePlan, elder: Elder, now: datetime) -> None:
    """Brings the plan's open visits in line with its frequencies (adds to the session)."""
    frequencies = [Frequency.model_validate(f) for f in plan.frequencies]
    wanted = {f.role: f for f in frequencies}
    open_plan_visits = session.exec(
        select(Visit).where(
            Visit.elder_id == elder.id,
            Visit.reason == VisitReason.PLAN,
            col(Visit.status).in_(OPEN),
        )
    ).all()
    have: dict[VisitRole, Visit] = {}
    for visit in open_plan_visits:
        if visit.role not in wanted and visit.status == VisitStatus.SCHEDULED:
            _touch(session, visit, status=VisitStatus.CANCELLED)
        else:
            have[visit.role] = visit
    for role, freq in wanted.items():
        last_done = session.exec(
            select(Visit.ended_at)
            .where(
                Visit.elder_id == elder.id,
                Visit.role == role,
                Visit.status == VisitStatus.COMPLETED,
            )
            .order_by(col(Visit.ended_at).desc())
            .limit(1)
        ).first()
        # The first visit of a new plan is due now; later ones `every_days` after the last.
        due = last_done + timedelta(days=freq.every_days) if last_done else now
        due_from, due_by = _window(due, freq)
        current = have.get(role)
        if current is None:
            session.add(
                Visit(
                    elder_id=elder.id,
                    care_plan_id=plan.id,
                    role=role,
                    reason=VisitReason.PLAN,
                    assigned_to=assignee_for(elder, role),
                    due_from=due_from,
                    due_by=due_by,
                    seq=next_seq(session),
                )
            )
        elif current.status == VisitStatus.SCHEDULED and (
            current.due_from != due_from or current.due_by != due_by
        ):
            current.due_from, current.due_by = due_from, due_by
            _touch(session, current)


def _touch(session: Session, visit: Visit, *, status: VisitStatus | None = None) -> None:
    if status is not None:
        visit.status = status
    visit.version += 1
    visit.updated_at = utcnow()
    visit.seq = next_seq(session)
    session.add(visit)


def propose_follow_up(
    session: Session,
    *,
    elder: Elder,
    priority: triage.Priority,
    now: datetime,
    created_by: User | None,
) -> Visit:
    """An earlier next visit after an abnormal reading; the open one if it is soon enough."""
    due_by = now + timedelta(days=FOLLOW_UP_DAYS.get(priority, 3))
    soon = session.exec(
        select(Visit)
        .where(
            Visit.elder_id == elder.id,
            Visit.role == VisitRole.CAREGIVER,
            Visit.status == VisitStatus.SCHEDULED,
            col(Visit.due_by) <= due_by,
        )
        .order_by(col(Visit.due_by))
        .limit(1)
    ).first()
    if soon is not None:
        return soon
    visit = Visit(
        elder_id=elder.id,
        role=VisitRole.CAREGIVER,
        reason=VisitReason.FOLLOW_UP,
        assigned_to=elder.caregiver_id,
        due_from=now,
        due_by=due_by,
        created_by=created_by.id if created_by else None,
        seq=next_seq(session),
    )
    session.add(visit)
    return visit


def end_of_today(now: datetime) -> datetime:
    local = now.astimezone(BANGKOK).date()
    return datetime.combine(local + timedelta(days=1), time.min, tzinfo=BANGKOK)


def today(
    session: Session, *, user: User, now: datetime | None = None, request_id: str | None = None
) -> list[TodayItem]:
    """Open visits due by the end of today (Bangkok), overdue included, nearest first."""
    now = now or utcnow()
    role = ROLE_OF_USER.get(user.role)
    query = (
        select(Visit, Elder, CarePlan)
        .join(Elder, col(Elder.id) == Visit.elder_id)
        .outerjoin(CarePlan, col(CarePlan.elder_id) == Visit.elder_id)
        .where(col(Visit.status).in_(OPEN), col(Visit.due_from) < end_of_today(now))
    )
    query = elders.scope_query(query, user)
    if user.role == Role.CAREGIVER:
        query = query.where(Visit.role == VisitRole.CAREGIVER)
    else:
        # Staff who see every elder get the visits made for them, or for their role unassigned.
        query = query.where(
            sa.or_(
                col(Visit.assigned_to) == user.id,
                sa.and_(col(Visit.role) == role, col(Visit.assigned_to).is_(None)),
            )
        )
    rows = session.exec(query.order_by(col(Visit.due_by), col(Visit.id))).all()
    items: list[TodayItem] = []
    for visit, elder, plan in rows:
        items.append(
            TodayItem(
                visit=visit_out(visit, now),
                elder_name=elder_name(elder),
                community=elder.community,
                overdue=is_overdue(visit, now),
                measurements=list(plan.measurements) if plan else [],
                checklist=list(plan.checklist) if plan else [],
                adl_due=adl_due(session, plan=plan, elder_id=elder.id, now=now),
            )
        )
    audit.record_reads(
        session, actor=user, entity="visit_list", elder_ids=sorted({i.visit.elder_id for i in items}),
        fields=["visits", "care_plan"], request_id=request_id,
    )  # fmt: skip
    return items


def adl_due(session: Session, *, plan: CarePlan | None, elder_id: uuid.UUID, now: datetime) -> bool:
    if plan is None or plan.adl_every_days is None:
        return False
    last = session.exec(
        select(Visit.ended_at)
        .where(Visit.elder_id == elder_id, col(Visit.adl_score).is_not(None))
        .order_by(col(Visit.ended_at).desc())
        .limit(1)
    ).first()
    return last is None or last + timedelta(days=plan.adl_every_days) <= now


def overdue(
    session: Session,
    *,
    user: User,
    now: datetime | None = None,
    limit: int = 500,
    request_id: str | None = None,
) -> list[VisitOut]:
    now = now or utcnow()
    query = select(Visit).where(col(Visit.status).in_(OPEN), col(Visit.due_by) < now)
    visible = elders.visible_elder_ids(session, user)
    if visible is not None:
        query = query.where(col(Visit.elder_id).in_(visible))
    rows = session.exec(query.order_by(col(Visit.due_by)).limit(limit)).all()
    audit.record_reads(
        session, actor=user, entity="visit_list", elder_ids=sorted({v.elder_id for v in rows}),
        fields=["visits"], request_id=request_id,
    )  # fmt: skip
    return [visit_out(v, now) for v in rows]
