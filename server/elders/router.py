from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from server.auth.models import Role, User
from server.common.paging import MAX_PAGE
from server.deps import HandlerRoute, RequestId, SessionDep, require_roles
from server.elders import service
from server.elders.models import ElderStatus
from server.elders.schemas import (
    CAN_CREATE,
    ConsentIn,
    ConsentOut,
    ElderCreate,
    ElderOut,
    ElderPage,
    ElderUpdate,
)

router = APIRouter(route_class=HandlerRoute, prefix="/api/v1", tags=["elders"])

ElderReader = Annotated[
    User,
    Depends(
        require_roles(
            Role.ADMIN, Role.SUPERVISOR, Role.DISPATCHER, Role.CARE_MANAGER, Role.CLINICIAN,
            Role.CAREGIVER, Role.VOLUNTEER,
        )
    ),
]  # fmt: skip
ElderEditor = Annotated[
    User, Depends(require_roles(Role.ADMIN, Role.CARE_MANAGER, Role.CAREGIVER, Role.VOLUNTEER))
]
ElderCreator = Annotated[User, Depends(require_roles(*CAN_CREATE))]
ConsentRecorder = Annotated[User, Depends(require_roles(Role.ADMIN, Role.CARE_MANAGER))]


@router.get("/elders")
def list_elders(
    session: SessionDep,
    user: ElderReader,
    rid: RequestId,
    q: Annotated[str | None, Query(max_length=100)] = None,
    status: ElderStatus | None = None,
    community: Annotated[str | None, Query(max_length=100)] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 25,
) -> ElderPage:
    return service.list_elders(
        session, user=user, q=q, status=status, community=community, page=page,
        page_size=page_size, request_id=rid,
    )  # fmt: skip


@router.post("/elders", status_code=201)
def create_elder(
    body: ElderCreate, session: SessionDep, user: ElderCreator, rid: RequestId
) -> ElderOut:
    elder = service.create_elder(session, user=user, data=body, request_id=rid)
    return service.to_out(session, elder, user=user)


@router.get("/elders/{elder_id}")
def get_elder(
    elder_id: uuid.UUID, session: SessionDep, user: ElderReader, rid: RequestId
) -> ElderOut:
    return service.read_elder(session, user=user, elder_id=elder_id, request_id=rid)


@router.patch("/elders/{elder_id}")
def update_elder(
    elder_id: uuid.UUID, body: ElderUpdate, session: SessionDep, user: ElderEditor, rid: RequestId
) -> ElderOut:
    return service.edit_elder(session, user=user, elder_id=elder_id, data=body, request_id=rid)


@router.post("/elders/{elder_id}/consents", status_code=201)
def add_consent(
    elder_id: uuid.UUID, body: ConsentIn, session: SessionDep, user: ConsentRecorder, rid: RequestId
) -> ConsentOut:
    consent = service.add_consent(session, user=user, elder_id=elder_id, data=body, request_id=rid)
    return ConsentOut.model_validate(consent.model_dump())


@router.post("/elders/{elder_id}/consents/{consent_id}/withdraw")
def withdraw_consent(
    elder_id: uuid.UUID,
    consent_id: uuid.UUID,
    session: SessionDep,
    user: ConsentRecorder,
    rid: RequestId,
    on: date | None = None,
) -> ConsentOut:
    consent = service.withdraw_consent(
        session, user=user, elder_id=elder_id, consent_id=consent_id,
        on=on or date.today(), request_id=rid,
    )  # fmt: skip
    return ConsentOut.model_validate(consent.model_dump())
