"""The console's phone-in page: find who is calling (identity and location only), then open
an alert for them with a priority and what the caller said."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

import triage
from server.alerts import phone
from server.alerts.router import Dispatcher
from server.deps import HandlerRoute, RequestId, SessionDep
from server.elders import service as elders
from server.errors import ApiError
from server.web import render

router = APIRouter(route_class=HandlerRoute, include_in_schema=False)
PRIORITIES = [triage.Priority.RED, triage.Priority.YELLOW, triage.Priority.GREEN]


@router.get("/console/phone-call", response_class=HTMLResponse)
def phone_call_page(
    request: Request,
    session: SessionDep,
    user: Dispatcher,
    rid: RequestId,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    found = (
        elders.list_elders(session, user=user, q=q, page_size=20, request_id=rid).items
        if q and q.strip()
        else []
    )
    return render(request, "phone_call.html", q=q or "", found=found, priorities=PRIORITIES)


@router.post("/console/phone-call", response_class=HTMLResponse)
def phone_call_submit(
    request: Request,
    session: SessionDep,
    user: Dispatcher,
    rid: RequestId,
    elder_id: Annotated[uuid.UUID, Form()],
    priority: Annotated[triage.Priority, Form()],
    reason: Annotated[str, Form(min_length=3, max_length=1000)],
) -> Response:
    if not reason.strip():
        raise ApiError(422, "reason_required", "alerts.error.reason_required", field="reason")
    session.commit()  # end the login check's read snapshot before writing (SQLite)
    phone.open_phone_call(
        session, user=user, elder_id=elder_id, priority=priority, reason=reason.strip(),
        request_id=rid,
    )  # fmt: skip
    session.commit()
    return RedirectResponse("/console", status_code=303)
