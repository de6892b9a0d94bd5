"""The caseload: every elder a care manager looks after, with what puts them at risk now.

A handful of grouped queries whatever the caseload's size (300 elders is the programme):
the elders, then one aggregate each for recent readings, open review items and visits."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from server.audit import service as audit
from server.auth.models import User
from server.care.models import ReviewItem, ReviewKind, ReviewStatus, Visit, VisitStatus
from server.common.time import utcnow
from server.elders.models import Elder, Mobility
from server.elders.schemas import adl_group
from server.elders.service import display_name
from server.manager.access import caseload_query
from server.manager.schemas import CaseloadElder, CaseloadOut, Person
from server.observations.models import Observation

# How far back a RED or YELLOW reading still counts as "recent".
RECENT_DAYS = 14
# The order flags are shown in: the most pressing first.
RISK_FLAGS = ("red", "overdue", "yellow", "followup", "alone", "bedbound")
FOLLOW_UP_KINDS = (
    ReviewKind.ABNORMAL_READING,
    ReviewKind.CRITICAL_READING,
    ReviewKind.NOT_SEEN_WELL,
)
OPEN_VISIT = (VisitStatus.SCHEDULED, VisitStatus.IN_PROGRESS)


def people(session: Session, ids: set[uuid.UUID]) -> list[Person]:
    if not ids:
        return []
    rows = session.exec(select(User.id, User.full_name).where(col(User.id).in_(ids))).all()
    return [Person(id=i, name=n) for i, n in rows]


def caseload(session: Session, *, user: User, request_id: str | None) -> CaseloadOut:
    now = utcnow()
    ids = caseload_query(user).subquery()
    elders = session.exec(
        select(Elder).where(col(Elder.id).in_(select(ids.c.id)))
        .order_by(Elder.community, Elder.first_name)
    ).all()  # fmt: skip

    readings: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
    last_reading: dict[uuid.UUID, datetime] = {}
    for elder_id, priority, n, last in session.exec(
        select(
            Observation.elder_id,
            Observation.priority,
            func.count(),
            func.max(Observation.observed_at),
        )
        .where(
            col(Observation.elder_id).in_(select(ids.c.id)),
            col(Observation.observed_at) >= now - timedelta(days=RECENT_DAYS),
        )
        .group_by(col(Observation.elder_id), col(Observation.priority))
    ).all():
        if priority in ("RED", "YELLOW"):
            readings[elder_id][priority] = n
        if elder_id not in last_reading or last > last_reading[elder_id]:
            last_reading[elder_id] = last

    followups: dict[uuid.UUID, int] = defaultdict(int)
    reviews: dict[uuid.UUID, int] = defaultdict(int)
    for elder_id, kind, n in session.exec(
        select(ReviewItem.elder_id, ReviewItem.kind, func.count())
        .where(
            col(ReviewItem.elder_id).in_(select(ids.c.id)),
            ReviewItem.status == ReviewStatus.OPEN,
        )
        .group_by(col(ReviewItem.elder_id), col(ReviewItem.kind))
    ).all():
        if kind in FOLLOW_UP_KINDS:
            followups[elder_id] += n
        else:
            reviews[elder_id] += n

    overdue_case = sa.case((col(Visit.due_by) < now, 1), else_=0)
    upcoming = sa.case((col(Visit.due_by) >= now, col(Visit.due_by)), else_=None)
    visits = {
        elder_id: (int(overdue or 0), next_due)
        for elder_id, overdue, next_due in session.exec(
            select(Visit.elder_id, func.sum(overdue_case), func.min(upcoming))
            .where(
                col(Visit.elder_id).in_(select(ids.c.id)),
                col(Visit.status).in_(OPEN_VISIT),
            )
            .group_by(col(Visit.elder_id))
        ).all()
    }

    out: list[CaseloadElder] = []
    for e in elders:
        overdue, next_due = visits.get(e.id, (0, None))
        red, yellow = readings[e.id].get("RED", 0), readings[e.id].get("YELLOW", 0)
        flags = {
            "red": red > 0,
            "overdue": overdue > 0,
            "yellow": yellow > 0,
            "followup": followups[e.id] > 0,
            "alone": e.lives_alone and not e.has_carer,
            "bedbound": e.mobility == Mobility.BEDRIDDEN or adl_group(e.adl_score) == "bed_bound",
        }
        out.append(
            CaseloadElder(
                id=e.id, name=display_name(e), community=e.community, status=e.status,
                adl_score=e.adl_score, adl_group=adl_group(e.adl_score), mobility=e.mobility,
                lives_alone=e.lives_alone, has_carer=e.has_carer, latitude=e.latitude,
                longitude=e.longitude, caregiver_id=e.caregiver_id, volunteer_id=e.volunteer_id,
                flags=[f for f in RISK_FLAGS if flags[f]], red=red, yellow=yellow,
                open_followups=followups[e.id], open_reviews=reviews[e.id],
                overdue_visits=overdue, next_due=next_due,
                last_reading_at=last_reading.get(e.id),
            )
        )  # fmt: skip
    # ADL, mobility and reading colours are health data, and where someone lives is personal
    # data the map shows (PDPA): every elder shown is a read, the home location named in it.
    audit.record_reads(
        session, actor=user, entity="caseload", elder_ids=[e.id for e in elders],
        fields=["adl_group", "mobility", "reading_priority", "follow_ups", "home_location"],
        request_id=request_id,
    )  # fmt: skip
    staff = {i for e in elders for i in (e.caregiver_id, e.volunteer_id) if i is not None}
    return CaseloadOut(
        elders=out,
        communities=sorted({e.community for e in elders}),
        people=people(session, staff),
        recent_days=RECENT_DAYS,
    )
