"""The care manager's review queue: abnormal and critical readings, volunteers' changes to
what matters, elders not seen well, and stale offline edits with both versions."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, col, select

from server.audit import service as audit
from server.auth.models import User
from server.care.models import ReviewItem, ReviewKind, ReviewStatus
from server.care.schemas import ReviewOut
from server.common.time import utcnow
from server.elders import service as elders
from server.errors import ApiError


def flag(
    session: Session,
    *,
    kind: ReviewKind,
    elder_id: uuid.UUID,
    entity: str,
    entity_id: str | uuid.UUID | None,
    detail: dict[str, Any],
    priority: str | None = None,
    raised_by: User | None = None,
) -> ReviewItem:
    """Adds an open item to the session; the caller commits it with the change it is about."""
    item = ReviewItem(
        kind=kind,
        elder_id=elder_id,
        priority=priority,
        entity=entity,
        entity_id=str(entity_id) if entity_id is not None else None,
        detail=detail,
        raised_by=raised_by.id if raised_by else None,
    )
    session.add(item)
    return item


def review_out(item: ReviewItem) -> ReviewOut:
    return ReviewOut.model_validate(item.model_dump())


def list_reviews(
    session: Session,
    *,
    user: User,
    status: ReviewStatus | None = ReviewStatus.OPEN,
    kind: ReviewKind | None = None,
    elder_id: uuid.UUID | None = None,
    limit: int = 200,
    request_id: str | None = None,
) -> list[ReviewOut]:
    query = select(ReviewItem)
    visible = elders.visible_elder_ids(session, user)
    if visible is not None:
        query = query.where(col(ReviewItem.elder_id).in_(visible))
    if status is not None:
        query = query.where(ReviewItem.status == status)
    if kind is not None:
        query = query.where(ReviewItem.kind == kind)
    if elder_id is not None:
        query = query.where(ReviewItem.elder_id == elder_id)
    rows = session.exec(query.order_by(col(ReviewItem.created_at).desc()).limit(limit)).all()
    audit.record_reads(
        session, actor=user, entity="visit_review", elder_ids=sorted({r.elder_id for r in rows}),
        fields=["review_detail"], request_id=request_id,
    )  # fmt: skip
    return [review_out(r) for r in rows]


def get_open(session: Session, *, user: User, review_id: uuid.UUID) -> ReviewItem:
    item = session.get(ReviewItem, review_id)
    if item is None:
        raise ApiError(404, "not_found", "common.not_found")
    elders.get_visible(session, user=user, elder_id=item.elder_id)
    if item.status != ReviewStatus.OPEN:
        raise ApiError(409, "review_closed", "care.review_closed")
    return item


def close(
    session: Session,
    *,
    user: User,
    item: ReviewItem,
    resolution: str | None,
    request_id: str | None,
) -> None:
    item.status = ReviewStatus.RESOLVED
    item.resolved_by = user.id
    item.resolved_at = utcnow()
    item.resolution = resolution
    session.add(item)
    audit.record(
        session, actor=user, action="resolve", entity="visit_review", entity_id=item.id,
        elder_id=item.elder_id, fields=["status"], request_id=request_id,
    )  # fmt: skip
