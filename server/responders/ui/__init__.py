"""The responder's mobile page behind the link in the dispatch SMS (no login: the link is it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from server.deps import HandlerRoute, SessionDep
from server.responders import service
from server.responders.links import map_link
from server.responders.models import STAGES, Stage
from server.web import render

router = APIRouter(route_class=HandlerRoute, include_in_schema=False)

REFUSED_STATUS = {"invalid": 404, "expired": 410, "used": 409}


def _page(request: Request, view: service.LinkView, status_code: int = 200) -> Response:
    response = render(
        request,
        "responder.html",
        status_code=status_code,
        view=view,
        stages=STAGES,
        map_url=map_link(view.elder),
        done=view.link.used_at is not None,
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _refused(request: Request, reason: str) -> Response:
    response = render(
        request, "responder_refused.html", status_code=REFUSED_STATUS[reason], reason=reason
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/r/{token}", response_class=HTMLResponse)
def responder_page(token: str, request: Request, session: SessionDep) -> Response:
    try:
        view = service.open_link(session, token)
    except service.LinkRefused as exc:
        return _refused(request, exc.reason)
    return _page(request, view)


@router.post("/r/{token}", response_class=HTMLResponse)
def responder_stage(
    token: str, request: Request, session: SessionDep, stage: Annotated[Stage, Form()]
) -> Response:
    try:
        view = service.advance(session, token=token, stage=stage)
    except service.LinkRefused as exc:
        session.rollback()
        return _refused(request, exc.reason)
    session.commit()
    return _page(request, view)
