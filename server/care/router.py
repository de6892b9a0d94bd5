"""Care plans, the schedule, the visit log, readings and history, reviews."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from server.alerts.access import CLINICAL_WINDOW, clinical_open
from server.auth.models import User
from server.care import access, care_plans, conflicts, history, reviews, schedule, visits
from server.care.models import ReviewKind, ReviewStatus, VisitStatus
from server.care.notes import add_note, note_out
from server.care.schemas import (
    CarePlanCreate,
    CarePlanOut,
    CarePlanUpdate,
    HistoryOut,
    NoteIn,
    NoteOut,
    ObservationIn,
    ObservationOut,
    ReviewOut,
    ReviewResolve,
    TargetsUpdate,
    TodayItem,
    VisitCreate,
    VisitOut,
    VisitUpdate,
)
from server.deps import HandlerRoute, RequestId, SessionDep, require_roles
from server.errors import ApiError

router = APIRouter(route_class=HandlerRoute, prefix="/api/v1", tags=["visits"])


PlanReader = Annotated[User, Depends(require_roles(*access.PLAN_READERS))]
PlanWriter = Annotated[User, Depends(require_roles(*access.PLAN_WRITERS))]
TargetWriter = Annotated[User, Depends(require_roles(*access.TARGET_WRITERS))]
VisitReader = Annotated[User, Depends(require_roles(*access.VISIT_READERS))]
VisitWriter = Annotated[User, Depends(require_roles(*access.VISIT_WRITERS))]
TodayReader = Annotated[User, Depends(require_roles(*access.TODAY_READERS))]
OverdueReader = Annotated[User, Depends(require_roles(*access.OVERDUE_READERS))]
ObservationReader = Annotated[User, Depends(require_roles(*access.OBSERVATION_READERS))]
Reviewer = Annotated[User, Depends(require_roles(*access.REVIEWERS))]
ReviewResolver = Annotated[User, Depends(require_roles(*access.REVIEW_RESOLVERS))]


# --- care plans -------------------------------------------------------------------------


@router.get("/care-plans")
def list_care_plans(
    session: SessionDep, user: PlanReader, rid: RequestId, elder_id: uuid.UUID | None = None
) -> list[CarePlanOut]:
    return care_plans.list_plans(session, user=user, elder_id=elder_id, request_id=rid)


@router.post("/care-plans", status_code=201)
def create_care_plan(
    body: CarePlanCreate, session: SessionDep, user: PlanWriter, rid: RequestId
) -> CarePlanOut:
    plan, elder = care_plans.create_plan(session, user=user, data=body, request_id=rid)
    return care_plans.plan_out(plan, elder)


@router.get("/care-plans/{plan_id}")
def get_care_plan(
    plan_id: uuid.UUID, session: SessionDep, user: PlanReader, rid: RequestId
) -> CarePlanOut:
    return care_plans.read_plan(session, user=user, plan_id=plan_id, request_id=rid)


@router.patch("/care-plans/{plan_id}")
def update_care_plan(
    plan_id: uuid.UUID, body: CarePlanUpdate, session: SessionDep, user: PlanWriter, rid: RequestId
) -> CarePlanOut:
    plan, elder = care_plans.update_plan(
        session, user=user, plan_id=plan_id, data=body, request_id=rid
    )
    return care_plans.plan_out(plan, elder)


@router.put("/care-plans/{plan_id}/targets")
def set_care_plan_targets(
    plan_id: uuid.UUID, body: TargetsUpdate, session: SessionDep, user: TargetWriter, rid: RequestId
) -> CarePlanOut:
    plan, elder = care_plans.set_targets(
        session, user=user, plan_id=plan_id, data=body, request_id=rid
    )
    return care_plans.plan_out(plan, elder)


# --- schedule and visit log -------------------------------------------------------------


@router.get("/visits/today")
def visits_today(session: SessionDep, user: TodayReader, rid: RequestId) -> list[TodayItem]:
    return schedule.today(session, user=user, request_id=rid)


@router.get("/visits/overdue")
def visits_overdue(session: SessionDep, user: OverdueReader, rid: RequestId) -> list[VisitOut]:
    return schedule.overdue(session, user=user, request_id=rid)


@router.get("/visits")
def list_visits(
    session: SessionDep,
    user: VisitReader,
    rid: RequestId,
    elder_id: uuid.UUID | None = None,
    status: VisitStatus | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[VisitOut]:
    return visits.list_visits(
        session, user=user, elder_id=elder_id, status=status, since=since, until=until,
        limit=limit, request_id=rid,
    )  # fmt: skip


@router.post("/visits", status_code=201)
def create_visit(
    body: VisitCreate, session: SessionDep, user: VisitWriter, rid: RequestId
) -> VisitOut:
    visit, _created = visits.create_visit(session, user=user, data=body, request_id=rid)
    session.commit()
    visits.write_adl_through(session, user=user, visit=visit, request_id=rid)
    return schedule.visit_out(visit)


@router.get("/visits/{visit_id}")
def get_visit(
    visit_id: uuid.UUID, session: SessionDep, user: VisitReader, rid: RequestId
) -> VisitOut:
    return visits.read_visit(session, user=user, visit_id=visit_id, request_id=rid)


@router.patch("/visits/{visit_id}")
def update_visit(
    visit_id: uuid.UUID, body: VisitUpdate, session: SessionDep, user: VisitWriter, rid: RequestId
) -> VisitOut:
    visit = visits.update_visit(session, user=user, visit_id=visit_id, data=body, request_id=rid)
    return schedule.visit_out(visit)


@router.post("/visits/{visit_id}/observations", status_code=201)
def record_visit_reading(
    visit_id: uuid.UUID,
    body: ObservationIn,
    session: SessionDep,
    user: VisitWriter,
    rid: RequestId,
) -> ObservationOut:
    visit, elder = visits.get_visit(session, user=user, visit_id=visit_id)
    out = visits.record_reading(
        session, user=user, elder=elder, data=body, visit=visit, request_id=rid
    )
    session.commit()
    return out


@router.post("/visits/{visit_id}/notes", status_code=201)
def add_visit_note(
    visit_id: uuid.UUID,
    body: NoteIn,
    session: SessionDep,
    user: VisitWriter,
    rid: RequestId,
    id: uuid.UUID | None = None,
) -> NoteOut:
    visit, _elder = visits.get_visit(session, user=user, visit_id=visit_id)
    body = body.model_copy(update={"visit_id": visit.id})
    note, _created = add_note(
        session, user=user, note_id=id or uuid.uuid4(), data=body, request_id=rid
    )
    session.commit()
    return note_out(note)


# --- readings outside a visit, and history ----------------------------------------------


@router.post("/elders/{elder_id}/observations", status_code=201)
def record_manual_reading(
    elder_id: uuid.UUID, body: ObservationIn, session: SessionDep, user: VisitWriter, rid: RequestId
) -> ObservationOut:
    elder = access.elder_for(session, user=user, elder_id=elder_id)
    out = visits.record_reading(
        session, user=user, elder=elder, data=body, visit=None, request_id=rid
    )
    session.commit()
    return out


@router.get("/elders/{elder_id}/observations", response_model=HistoryOut)
def elder_observations(
    elder_id: uuid.UUID,
    session: SessionDep,
    user: ObservationReader,
    rid: RequestId,
    kind: Annotated[list[str] | None, Query(max_length=10)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Response:
    if not clinical_open(session, user=user, elder_id=elder_id):
        # A dispatcher's view of readings opens with an emergency (docs/privacy.md).
        raise ApiError(403, "clinical_not_open", "security.clinical_not_open",
                       hours=int(CLINICAL_WINDOW.total_seconds() // 3600))  # fmt: skip
    unknown = sorted(set(kind or ()) - set(history.KINDS))
    if unknown:
        raise ApiError(
            422, "unknown_kind", "care.unknown_kind", field="kind",
            kinds=", ".join(history.KINDS),
        )  # fmt: skip
    out = history.elder_history(
        session, user=user, elder_id=elder_id, kinds=kind or (), since=since, until=until,
        request_id=rid,
    )  # fmt: skip
    # Serialised once here: a year of readings is thousands of points.
    return Response(out.model_dump_json(), media_type="application/json")


# --- the care manager's review queue ----------------------------------------------------


@router.get("/reviews")
def list_reviews(
    session: SessionDep,
    user: Reviewer,
    rid: RequestId,
    status: ReviewStatus | None = ReviewStatus.OPEN,
    kind: ReviewKind | None = None,
    elder_id: uuid.UUID | None = None,
) -> list[ReviewOut]:
    return reviews.list_reviews(
        session, user=user, status=status, kind=kind, elder_id=elder_id, request_id=rid
    )


@router.post("/reviews/{review_id}/resolve")
def resolve_review(
    review_id: uuid.UUID,
    body: ReviewResolve,
    session: SessionDep,
    user: ReviewResolver,
    rid: RequestId,
) -> ReviewOut:
    return conflicts.resolve(session, user=user, review_id=review_id, data=body, request_id=rid)
