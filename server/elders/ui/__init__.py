"""Elder registry pages: a searchable list and a detail page, scoped like the API."""

from __future__ import annotations

import math
import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from server.auth.models import Role, User
from server.common.paging import MAX_PAGE
from server.deps import HandlerRoute, RequestId, SessionDep
from server.elders import service
from server.elders.router import ElderReader
from server.web import register_nav, render

router = APIRouter(route_class=HandlerRoute, include_in_schema=False)
register_nav(
    "/elders",
    "common.nav.elders",
    {Role.ADMIN, Role.SUPERVISOR, Role.DISPATCHER, Role.CARE_MANAGER, Role.CLINICIAN,
     Role.CAREGIVER, Role.VOLUNTEER},
)  # fmt: skip


@router.get("/elders", response_class=HTMLResponse)
def elders_page(
    request: Request,
    session: SessionDep,
    user: ElderReader,
    rid: RequestId,
    q: Annotated[str | None, Query(max_length=100)] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    result = service.list_elders(session, user=user, q=q, page=page, page_size=25, request_id=rid)
    pages = max(1, math.ceil(result.total / result.page_size))
    return render(request, "elders_list.html", result=result, q=q or "", pages=pages)


@router.get("/elders/{elder_id}", response_class=HTMLResponse)
def elder_page(
    elder_id: uuid.UUID, request: Request, session: SessionDep, user: ElderReader, rid: RequestId
) -> Response:
    elder = service.read_elder(session, user=user, elder_id=elder_id, request_id=rid)
    names = {
        field: (u.full_name if (u := session.get(User, value)) else None)
        for field in ("caregiver_id", "care_manager_id", "volunteer_id")
        if (value := getattr(elder, field))
    }
    return render(request, "elder_detail.html", elder=elder, assignee_names=names)
