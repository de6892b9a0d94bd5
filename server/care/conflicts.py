"""Resolving review items; for a sync conflict the care manager may apply the tablet's
version on top of the current one (as a new version, so nothing is overwritten unseen)."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from server.audit import service as audit
from server.auth.models import User
from server.care import reviews, visits
from server.care.models import ReviewKind
from server.care.schemas import ReviewOut, ReviewResolve, VisitUpdate
from server.elders import service as elders
from server.elders.schemas import ElderUpdate
from server.errors import ApiError


def resolve(
    session: Session,
    *,
    user: User,
    review_id: uuid.UUID,
    data: ReviewResolve,
    request_id: str | None,
) -> ReviewOut:
    item = reviews.get_open(session, user=user, review_id=review_id)
    if data.apply_client:
        if item.kind != ReviewKind.SYNC_CONFLICT:
            raise ApiError(422, "not_a_conflict", "care.review.not_a_conflict")
        client = dict(item.detail.get("client") or {})
        entity = item.detail.get("entity")
        target = uuid.UUID(str(item.entity_id))
        if entity == "visit":
            visit, elder = visits.get_visit(session, user=user, visit_id=target)
            update = VisitUpdate.model_validate({**client, "version": visit.version})
            changes = visits.visit_changes(user, visit, update)
            visit.version += 1
            visits.apply_changes(session, user=user, visit=visit, elder=elder, changes=changes)
            audit.record(
                session, actor=user, action="update", entity="visit", entity_id=visit.id,
                elder_id=elder.id, fields=sorted(changes), request_id=request_id,
                detail={"via": "conflict", "review_id": str(item.id)},
            )  # fmt: skip
        elif entity == "elder":
            elder = elders.get_visible(session, user=user, elder_id=target)
            elders.update_elder(
                session, user=user, elder_id=elder.id,
                data=ElderUpdate.model_validate({**client, "version": elder.version}),
                request_id=request_id,
            )  # fmt: skip
            item = reviews.get_open(session, user=user, review_id=review_id)
        else:
            raise ApiError(422, "not_a_conflict", "care.review.not_a_conflict")
    reviews.close(session, user=user, item=item, resolution=data.resolution, request_id=request_id)
    session.flush()
    return reviews.review_out(item)
