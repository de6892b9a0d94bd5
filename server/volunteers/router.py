"""What volunteers (อสม.) do through the API: check-ins and contact updates."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from server.auth.models import User
from server.care import access
from server.care.schemas import CheckinIn, CheckinOut
from server.deps import HandlerRoute, RequestId, SessionDep, require_roles
from server.elders.schemas import ElderOut, ElderUpdate
from server.volunteers import service as vol

router = APIRouter(route_class=HandlerRoute, prefix="/api/v1", tags=["visits"])

CheckinWriter = Annotated[User, Depends(require_roles(*access.CHECKIN_WRITERS))]
CheckinReader = Annotated[User, Depends(require_roles(*access.CHECKIN_READERS))]
ContactEditor = Annotated[User, Depends(require_roles(*access.CONTACT_EDITORS))]


@router.get("/elders/{elder_id}/checkins")
def list_checkins(
    elder_id: uuid.UUID,
    session: SessionDep,
    user: CheckinReader,
    rid: RequestId,
    limit: Annotated[int, Query(ge=1, le=500)] = 60,
) -> list[CheckinOut]:
    return vol.list_checkins(session, user=user, elder_id=elder_id, limit=limit, request_id=rid)


@router.post("/elders/{elder_id}/checkins", status_code=201)
def add_checkin(
    elder_id: uuid.UUID, body: CheckinIn, session: SessionDep, user: CheckinWriter, rid: RequestId
) -> CheckinOut:
    row, _created, review_id = vol.add_checkin(
        session, user=user, elder_id=elder_id, data=body, request_id=rid
    )
    session.commit()
    return vol.checkin_out(row, review_id)


@router.patch("/elders/{elder_id}/contact")
def update_contact(
    elder_id: uuid.UUID, body: ElderUpdate, session: SessionDep, user: ContactEditor, rid: RequestId
) -> ElderOut:
    out, _review_id = vol.update_contact(
        session, user=user, elder_id=elder_id, data=body, request_id=rid
    )
    return out
