"""The care manager's desk: thin handlers over the services in this package."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from server.auth.models import User
from server.care.models import ReviewKind
from server.deps import HandlerRoute, RequestId, SessionDep, require_roles
from server.manager import access, caseload, due, queue, record
from server.manager.schemas import (
    CaseloadOut,
    Decision,
    DecisionOut,
    DueVisitsOut,
    ManagerRecord,
    QueueItem,
)

router = APIRouter(route_class=HandlerRoute, prefix="/api/v1/manager", tags=["care manager"])

Manager = Annotated[User, Depends(require_roles(*access.MANAGERS))]
Decider = Annotated[User, Depends(require_roles(*access.DECIDERS))]


@router.get("/caseload")
def get_caseload(session: SessionDep, user: Manager, rid: RequestId) -> CaseloadOut:
    return caseload.caseload(session, user=user, request_id=rid)


@router.get("/reviews")
def get_queue(
    session: SessionDep,
    user: Manager,
    rid: RequestId,
    kind: Annotated[list[ReviewKind] | None, Query(max_length=5)] = None,
) -> list[QueueItem]:
    return queue.queue(session, user=user, kinds=kind, request_id=rid)


@router.post("/reviews/{review_id}/decide")
def decide_review(
    review_id: uuid.UUID, body: Decision, session: SessionDep, user: Decider, rid: RequestId
) -> DecisionOut:
    return queue.decide(session, user=user, review_id=review_id, data=body, request_id=rid)


@router.get("/visits")
def get_due_visits(
    session: SessionDep,
    user: Manager,
    rid: RequestId,
    days: Annotated[int, Query(ge=0, le=60)] = 14,
) -> DueVisitsOut:
    return due.due_visits(session, user=user, days=days, request_id=rid)


@router.get("/elders/{elder_id}/record")
def get_record(
    elder_id: uuid.UUID, session: SessionDep, user: Manager, rid: RequestId
) -> ManagerRecord:
    return record.manager_record(session, user=user, elder_id=elder_id, request_id=rid)
