"""What volunteers (อสม.) do: contact, address and living-situation updates for the elders
assigned to them, and "seen well today" check-ins. Changes to what matters are shown to the
care manager; the edit itself goes through the elder registry (versioned, field rules)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, col, select

from server.audit import service as audit
from server.auth.models import User
from server.care import reviews
from server.care.access import FLAGGED_EDITORS, elder_for
from server.care.models import Checkin, ReviewKind
from server.care.schemas import CheckinIn, CheckinOut
from server.care.seq import next_seq
from server.common.time import utcnow
from server.elders import service as elders
from server.elders.schemas import VOLUNTEER_EDITABLE, ElderOut, ElderUpdate
from server.errors import ApiError

# A change to one of these by a field worker changes who is at risk: the care manager sees it.
SIGNIFICANT = ("lives_alone", "has_carer", "address", "community", "phone", "emergency_contacts")


def _snapshot(out: ElderOut) -> dict[str, Any]:
    data = out.model_dump(mode="json", include=set(SIGNIFICANT))
    contacts = data.get("emergency_contacts") or []
    data["emergency_contacts"] = [
        {k: c[k] for k in ("name", "relation", "phone")} for c in contacts
    ]
    return data


def significant_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {
        name: {"from": before.get(name), "to": after.get(name)}
        for name in SIGNIFICANT
        if before.get(name) != after.get(name)
    }


def update_contact(
    session: Session,
    *,
    user: User,
    elder_id: uuid.UUID,
    data: ElderUpdate,
    request_id: str | None,
) -> tuple[ElderOut, uuid.UUID | None]:
    """Contact, address and living situation only; returns the elder and any review id."""
    refused = sorted(set(data.model_fields_set) - {"version"} - VOLUNTEER_EDITABLE)
    if refused:
        raise ApiError(
            403, "field_not_editable", "elders.field_not_editable", field=refused[0],
            extra={"fields": refused},
        )  # fmt: skip
    return update_and_flag(session, user=user, elder_id=elder_id, data=data, request_id=request_id)


def update_and_flag(
    session: Session,
    *,
    user: User,
    elder_id: uuid.UUID,
    data: ElderUpdate,
    request_id: str | None,
) -> tuple[ElderOut, uuid.UUID | None]:
    """A field worker's edit of the elder record and, if it matters, its flag for the care
    manager, in one transaction: the edit is never stored without its flag."""
    elder = elder_for(session, user=user, elder_id=elder_id)
    before = _snapshot(elders.to_out(session, elder, user=user))
    out = elders.update_elder(
        session, user=user, elder_id=elder_id, data=data, request_id=request_id
    )
    review_id = flag_if_significant(
        session, user=user, elder_id=elder_id, before=before, after=_snapshot(out),
        version=out.version,
    )  # fmt: skip
    session.flush()
    return out, review_id


def edit_elder(
    session: Session,
    *,
    user: User,
    elder_id: uuid.UUID,
    data: ElderUpdate,
    request_id: str | None,
) -> ElderOut:
    """Every edit of the elder record through the registry's API: a field worker's is flagged
    when it matters."""
    if user.role in FLAGGED_EDITORS:
        out, _review = update_and_flag(
            session, user=user, elder_id=elder_id, data=data, request_id=request_id
        )
        return out
    return elders.update_elder(
        session, user=user, elder_id=elder_id, data=data, request_id=request_id
    )


elders.edit_elders_with(edit_elder)


def flag_if_significant(
    session: Session,
    *,
    user: User,
    elder_id: uuid.UUID,
    before: dict[str, Any],
    after: dict[str, Any],
    version: int,
) -> uuid.UUID | None:
    changed = significant_changes(before, after)
    if not changed or user.role not in FLAGGED_EDITORS:
        return None
    item = reviews.flag(
        session, kind=ReviewKind.VOLUNTEER_CHANGE, elder_id=elder_id, entity="elder",
        entity_id=elder_id, detail={"changes": changed, "version": version}, raised_by=user,
    )  # fmt: skip
    return item.id


def checkin_out(row: Checkin, review_id: uuid.UUID | None = None) -> CheckinOut:
    return CheckinOut.model_validate({**row.model_dump(), "review_id": review_id})


def add_checkin(
    session: Session,
    *,
    user: User,
    elder_id: uuid.UUID,
    data: CheckinIn,
    request_id: str | None,
) -> tuple[Checkin, bool, uuid.UUID | None]:
    """Idempotent on the client's id. Adds to the session; the caller commits."""
    elder = elder_for(session, user=user, elder_id=elder_id)
    if data.id is not None:
        existing = session.get(Checkin, data.id)
        if existing is not None:
            if existing.elder_id != elder.id:
                raise ApiError(409, "id_in_use", "common.id_in_use", field="id")
            return existing, False, None
    row = Checkin(
        id=data.id or uuid.uuid4(),
        elder_id=elder.id,
        volunteer_id=user.id,
        seen_well=data.seen_well,
        note=data.note,
        checked_at=data.checked_at or utcnow(),
        seq=next_seq(session),
    )
    session.add(row)
    review_id = None
    if not data.seen_well:
        item = reviews.flag(
            session, kind=ReviewKind.NOT_SEEN_WELL, elder_id=elder.id, entity="checkin",
            entity_id=row.id, detail={"note": data.note}, raised_by=user,
        )  # fmt: skip
        review_id = item.id
    audit.record(
        session, actor=user, action="create", entity="checkin", entity_id=row.id,
        elder_id=elder.id, fields=["seen_well", *(["note"] if data.note else [])],
        request_id=request_id,
    )  # fmt: skip
    return row, True, review_id


def list_checkins(
    session: Session, *, user: User, elder_id: uuid.UUID, limit: int, request_id: str | None
) -> list[CheckinOut]:
    elder = elder_for(session, user=user, elder_id=elder_id)
    rows = session.exec(
        select(Checkin)
        .where(Checkin.elder_id == elder.id)
        .order_by(col(Checkin.checked_at).desc())
        .limit(limit)
    ).all()
    audit.record_reads(
        session, actor=user, entity="checkin", elder_ids=[elder.id], fields=["checkins"],
        request_id=request_id,
    )  # fmt: skip
    return [checkin_out(r) for r in rows]
