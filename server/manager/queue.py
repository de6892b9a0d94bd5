"""The review queue as the care manager works it: each item with its elder, and for a sync
conflict or a field worker's change the fields side by side (base, theirs, ours), decided
one field at a time. A decision writes the chosen values through the owning domain (a new
version, so nothing is overwritten unseen), closes the item and is audited with each choice."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, col, select

from server.audit import service as audit
from server.auth.models import User
from server.care import reviews, visits
from server.care.models import ReviewItem, ReviewKind, ReviewStatus, Visit
from server.care.schedule import visit_out
from server.care.schemas import VisitUpdate
from server.elders import service as elders
from server.elders.models import Elder
from server.elders.schemas import ElderUpdate
from server.errors import ApiError
from server.manager.access import caseload_query, managed_elder
from server.manager.caseload import people
from server.manager.schemas import Decision, DecisionOut, FieldChoice, QueueItem
from server.observations.models import Observation, ObservationValue

DECIDABLE = (ReviewKind.SYNC_CONFLICT, ReviewKind.VOLUNTEER_CHANGE)
LIMIT = 500


def _elder_values(session: Session, elder: Elder, names: set[str], user: User) -> dict[str, Any]:
    values = elder.model_dump(mode="json", include=names - {"emergency_contacts"})
    if "emergency_contacts" in names:
        # Compared as the field worker's snapshot has them: name, relation, phone.
        contacts = elders.to_out(session, elder, user=user).model_dump(mode="json")
        values["emergency_contacts"] = [
            {k: c[k] for k in ("name", "relation", "phone")}
            for c in contacts.get("emergency_contacts") or []
        ]
    return values


def side_by_side(
    session: Session,
    item: ReviewItem,
    *,
    user: User,
    elders_by_id: dict[uuid.UUID, Elder],
    visits_by_id: dict[uuid.UUID, Visit],
) -> list[FieldChoice]:
    detail = item.detail or {}
    if item.kind == ReviewKind.SYNC_CONFLICT:
        theirs: dict[str, Any] = dict(detail.get("client") or {})
        base: dict[str, Any] = dict(detail.get("base") or {})
        has_base = {name for name in theirs if name in base}
    elif item.kind == ReviewKind.VOLUNTEER_CHANGE:
        changes: dict[str, Any] = dict(detail.get("changes") or {})
        theirs = {name: c.get("to") for name, c in changes.items()}
        base = {name: c.get("from") for name, c in changes.items()}
        has_base = set(theirs)
    else:
        return []
    ours: dict[str, Any] = {}
    target = uuid.UUID(str(item.entity_id)) if item.entity_id else None
    if detail.get("entity") == "visit" and target is not None:
        visit = visits_by_id.get(target) or session.get(Visit, target)
        if visit is not None:
            dumped = visit_out(visit).model_dump(mode="json")
            ours = {name: dumped.get(name) for name in theirs}
    else:
        elder = elders_by_id.get(item.elder_id) or session.get(Elder, item.elder_id)
        if elder is not None:
            ours = _elder_values(session, elder, set(theirs), user)
    return [
        FieldChoice(name=name, base=base.get(name), has_base=name in has_base,
                    theirs=theirs[name], ours=ours.get(name))
        for name in sorted(theirs)
    ]  # fmt: skip


def _observation_ids(item: ReviewItem) -> list[uuid.UUID]:
    found = []
    for reading in (item.detail or {}).get("readings") or []:
        try:
            found.append(uuid.UUID(str(reading.get("observation_id"))))
        except ValueError:
            continue
    return found


def _readings(session: Session, rows: list[ReviewItem]) -> dict[uuid.UUID, dict[str, Any]]:
    """The values of the readings behind follow-ups, in one query for the whole queue."""
    ids = {i for r in rows for i in _observation_ids(r)}
    if not ids:
        return {}
    out: dict[uuid.UUID, dict[str, Any]] = {}
    for obs, value in session.exec(
        select(Observation, ObservationValue)
        .join(ObservationValue, col(ObservationValue.observation_id) == col(Observation.id))
        .where(col(Observation.id).in_(ids))
    ).all():
        entry = out.setdefault(
            obs.id, {"observed_at": obs.observed_at.isoformat(), "priority": obs.priority,
                     "values": {}},
        )  # fmt: skip
        entry["values"][value.code] = value.value
    return out


def queue(
    session: Session,
    *,
    user: User,
    kinds: list[ReviewKind] | None,
    request_id: str | None,
) -> list[QueueItem]:
    ids = caseload_query(user).subquery()
    query = select(ReviewItem).where(
        ReviewItem.status == ReviewStatus.OPEN, col(ReviewItem.elder_id).in_(select(ids.c.id))
    )
    if kinds:
        query = query.where(col(ReviewItem.kind).in_(kinds))
    rows = list(session.exec(query.order_by(col(ReviewItem.created_at)).limit(LIMIT)).all())
    elder_ids = {r.elder_id for r in rows}
    by_elder = {
        e.id: e for e in session.exec(select(Elder).where(col(Elder.id).in_(elder_ids))).all()
    } if elder_ids else {}  # fmt: skip
    visit_ids = {
        uuid.UUID(str(r.entity_id))
        for r in rows
        if r.kind == ReviewKind.SYNC_CONFLICT and (r.detail or {}).get("entity") == "visit"
    }
    by_visit = {
        v.id: v for v in session.exec(select(Visit).where(col(Visit.id).in_(visit_ids))).all()
    } if visit_ids else {}  # fmt: skip
    names = {p.id: p.name for p in people(session, {r.raised_by for r in rows if r.raised_by})}
    readings = _readings(session, rows)
    out = []
    for r in rows:
        elder = by_elder[r.elder_id]
        out.append(
            QueueItem(
                id=r.id, kind=r.kind, elder_id=r.elder_id, elder_name=elders.display_name(elder),
                community=elder.community, priority=r.priority, entity=r.entity,
                entity_id=r.entity_id, raised_by=r.raised_by,
                raised_by_name=names.get(r.raised_by) if r.raised_by else None,
                created_at=r.created_at,
                fields=side_by_side(session, r, user=user, elders_by_id=by_elder,
                                    visits_by_id=by_visit),
                readings=[readings[i] for i in _observation_ids(r) if i in readings],
                detail=r.detail,
            )
        )  # fmt: skip
    audit.record_reads(
        session, actor=user, entity="visit_review", elder_ids=sorted(elder_ids),
        fields=["review_detail"], request_id=request_id,
    )  # fmt: skip
    return out


def decide(
    session: Session,
    *,
    user: User,
    review_id: uuid.UUID,
    data: Decision,
    request_id: str | None,
) -> DecisionOut:
    item = reviews.get_open(session, user=user, review_id=review_id)
    managed_elder(session, user=user, elder_id=item.elder_id)
    if item.kind not in DECIDABLE:
        raise ApiError(422, "not_decidable", "manager.review.not_decidable")
    fields = {
        f.name: f for f in side_by_side(session, item, user=user, elders_by_id={}, visits_by_id={})
    }
    unknown = sorted(set(data.choices) - set(fields))
    if unknown:
        raise ApiError(422, "unknown_field", "manager.review.unknown_field", field=unknown[0])
    undecided = sorted(set(fields) - set(data.choices))
    if undecided:
        raise ApiError(422, "undecided", "manager.review.undecided", field=undecided[0])
    values: dict[str, Any] = {}
    for name, choice in data.choices.items():
        f = fields[name]
        if choice == "base" and not f.has_base:
            raise ApiError(422, "no_base", "manager.review.no_base", field=name)
        value = getattr(f, choice)
        if value != f.ours:
            values[name] = value
    if values:
        _apply(session, user=user, item=item, values=values, request_id=request_id)
        item = reviews.get_open(session, user=user, review_id=review_id)
    reviews.close(session, user=user, item=item, resolution=data.note, request_id=request_id)
    # The decision itself, field by field: who chose what, and what it changed.
    audit.record(
        session, actor=user, action="decide", entity="visit_review", entity_id=item.id,
        elder_id=item.elder_id, fields=sorted(data.choices), request_id=request_id,
        detail={"kind": str(item.kind), "choices": dict(sorted(data.choices.items())),
                "applied": sorted(values)},
    )  # fmt: skip
    session.flush()
    return DecisionOut(id=item.id, status=item.status, applied=values)


def _apply(
    session: Session,
    *,
    user: User,
    item: ReviewItem,
    values: dict[str, Any],
    request_id: str | None,
) -> None:
    via = {"via": "review", "review_id": str(item.id)}
    if (item.detail or {}).get("entity") == "visit":
        visit, elder = visits.get_visit(session, user=user, visit_id=uuid.UUID(str(item.entity_id)))
        update = VisitUpdate.model_validate({**values, "version": visit.version})
        changes = visits.visit_changes(user, visit, update)
        visit.version += 1
        visits.apply_changes(session, user=user, visit=visit, elder=elder, changes=changes)
        audit.record(
            session, actor=user, action="update", entity="visit", entity_id=visit.id,
            elder_id=elder.id, fields=sorted(changes), request_id=request_id, detail=via,
        )  # fmt: skip
        return
    current = session.get(Elder, item.elder_id)
    assert current is not None
    elders.update_elder(
        session, user=user, elder_id=current.id,
        data=ElderUpdate.model_validate({**values, "version": current.version}),
        request_id=request_id,
    )  # fmt: skip
