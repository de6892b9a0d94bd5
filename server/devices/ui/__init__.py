"""The hubs page for administrators: status of every home hub, register one, revoke a token."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from server.auth.models import Role, User
from server.common.time import utcnow
from server.deps import HandlerRoute, RequestId, SessionDep, require_roles
from server.devices import service
from server.devices.config import DevicesSettings
from server.devices.models import DeviceKind
from server.errors import ApiError
from server.i18n import translate
from server.web import register_nav, render

router = APIRouter(route_class=HandlerRoute, include_in_schema=False)
register_nav("/admin/devices", "devices.nav", {Role.ADMIN})

AdminPage = Annotated[User, Depends(require_roles(Role.ADMIN))]


def _settings(request: Request) -> DevicesSettings:
    settings: DevicesSettings = getattr(request.app.state, "devices_settings", None) or (
        DevicesSettings()
    )
    return settings


def _page(
    request: Request,
    session: SessionDep,
    *,
    status_code: int = 200,
    **context: object,
) -> Response:
    hubs = service.list_hubs(session, now=utcnow(), settings=_settings(request))
    return render(
        request,
        "devices.html",
        status_code=status_code,
        hubs=hubs,
        elders=service.elder_choices(session),
        **context,
    )


@router.get("/admin/devices", response_class=HTMLResponse)
def devices_page(request: Request, session: SessionDep, _admin: AdminPage) -> Response:
    return _page(request, session)


@router.post("/admin/devices", response_class=HTMLResponse)
def register_hub(
    request: Request,
    session: SessionDep,
    admin: AdminPage,
    rid: RequestId,
    elder_id: Annotated[uuid.UUID, Form()],
    label: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    locale = request.state.locale
    try:
        device, token = service.register_device(
            session, elder_id=elder_id, kind=DeviceKind.HUB, label=label.strip(), actor=admin,
            request_id=rid,
        )  # fmt: skip
    except ApiError as exc:
        if exc.status_code != 404:
            raise
        return _page(
            request, session, status_code=404, error=translate("devices.unknown_elder", locale)
        )
    session.commit()
    return _page(request, session, new_token=token, new_device_id=device.id)


@router.post("/admin/devices/tokens/{token_id}/revoke", response_class=HTMLResponse)
def revoke_token(
    token_id: uuid.UUID, request: Request, session: SessionDep, admin: AdminPage, rid: RequestId
) -> Response:
    locale = request.state.locale
    row = service.revoke_hub_token(session, token_id=token_id, actor=admin, request_id=rid)
    if row is None:
        return _page(
            request, session, status_code=404, error=translate("devices.unknown_token", locale)
        )
    session.commit()
    return _page(request, session, notice=translate("devices.revoked", locale, prefix=row.prefix))
