"""The on-call page for supervisors: who is on duty now, the shifts, overrides and policies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import col, select

from server.auth.models import Role, User
from server.common.time import BANGKOK
from server.deps import HandlerRoute, SessionDep, require_roles
from server.errors import ApiError
from server.i18n import translate
from server.oncall import policies, roster
from server.oncall.models import Duty, Override, Shift, Team
from server.oncall.schemas import OverrideIn
from server.web import register_nav, render

router = APIRouter(route_class=HandlerRoute, include_in_schema=False)
register_nav("/oncall", "oncall.nav", {Role.SUPERVISOR, Role.ADMIN, Role.DISPATCHER})

Reader = Annotated[User, Depends(require_roles(Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN))]
Manager = Annotated[User, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]


def _page(
    request: Request, session: SessionDep, status_code: int = 200, **extra: object
) -> Response:
    teams = session.exec(
        select(Team).where(col(Team.active).is_(True)).order_by(col(Team.name))
    ).all()
    shifts = session.exec(select(Shift).where(col(Shift.active).is_(True))).all()
    users = {u.id: u for u in session.exec(select(User).where(col(User.active).is_(True))).all()}
    overrides = session.exec(
        select(Override).order_by(col(Override.starts_at).desc()).limit(20)
    ).all()
    in_force = [policies.policy_in_force(session, priority=p) for p in policies.POLICY_PRIORITIES]
    return render(
        request,
        "oncall.html",
        status_code=status_code,
        on_duty=roster.on_duty(session),
        teams=teams,
        shifts=shifts,
        users=users,
        overrides=overrides,
        policies=[p for p in in_force if p is not None],
        duties=list(Duty),
        phone_escalation=request.app.state.settings.phone_escalation,
        bangkok=BANGKOK,
        **extra,
    )


@router.get("/oncall", response_class=HTMLResponse)
def oncall_page(request: Request, session: SessionDep, _user: Reader) -> Response:
    return _page(request, session)


@router.post("/oncall/overrides", response_class=HTMLResponse)
def add_override(
    request: Request,
    session: SessionDep,
    user: Manager,
    team_id: Annotated[uuid.UUID, Form()],
    duty: Annotated[Duty, Form()],
    user_id: Annotated[uuid.UUID, Form()],
    starts_at: Annotated[str, Form()],
    ends_at: Annotated[str, Form()],
    replaces_user_id: Annotated[str, Form()] = "",
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """A swap or a sick day, with local (Bangkok) times from the form."""
    locale = request.state.locale
    try:
        body = OverrideIn(
            duty=duty,
            user_id=user_id,
            replaces_user_id=uuid.UUID(replaces_user_id) if replaces_user_id else None,
            starts_at=datetime.fromisoformat(starts_at).replace(tzinfo=BANGKOK),
            ends_at=datetime.fromisoformat(ends_at).replace(tzinfo=BANGKOK),
            note=note.strip() or None,
        )
        roster.add_override(session, team_id=team_id, values=body.model_dump(), actor=user)
    except (ValueError, ValidationError):
        session.rollback()
        return _page(
            request, session, status_code=422, error=translate("oncall.error.override", locale)
        )
    except ApiError as exc:
        session.rollback()
        return _page(
            request,
            session,
            status_code=exc.status_code,
            error=translate(exc.message_key, locale, **exc.params),
        )
    session.commit()
    return _page(request, session, notice=translate("oncall.override_saved", locale))


# The editing pages (roster, policies, LINE link codes) share this router.
from server.oncall.ui.manage import router as _manage  # noqa: E402

router.include_router(_manage)
