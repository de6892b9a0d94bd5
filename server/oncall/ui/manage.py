"""Supervisors' and administrators' pages to edit the roster and the escalation policies, and
to issue LINE link codes: server-rendered forms (CSRF-checked as every cookie POST is)."""

from __future__ import annotations

import uuid
from datetime import time
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import col, select

from server.auth.models import Role, User
from server.deps import HandlerRoute, SessionDep, require_roles
from server.elders.models import Elder, EmergencyContact
from server.errors import ApiError
from server.i18n import translate
from server.notify.line import issue_link_code
from server.notify.service import mask_recipient
from server.oncall import policies, roster
from server.oncall.models import Duty, Shift, Team, TeamKind, TeamMember
from server.oncall.schemas import PolicyBody, PolicyStep, ShiftIn, StepAction, Target
from server.web import register_nav, render

router = APIRouter(route_class=HandlerRoute, include_in_schema=False)
register_nav("/oncall/manage", "oncall_admin.nav", {Role.SUPERVISOR, Role.ADMIN})

Manager = Annotated[User, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]
BLANK_STEPS = 2  # empty step rows under a policy's steps, to add one
CONTACTS_SHOWN = 30


def _manage_page(
    request: Request, session: SessionDep, status_code: int = 200, **extra: object
) -> Response:
    teams = session.exec(
        select(Team).where(col(Team.active).is_(True)).order_by(col(Team.name))
    ).all()
    members = session.exec(
        select(TeamMember, User)
        .join(User, col(User.id) == TeamMember.user_id)
        .where(col(TeamMember.active).is_(True))
        .order_by(col(User.full_name))
    ).all()
    shifts = session.exec(
        select(Shift).where(col(Shift.active).is_(True)).order_by(col(Shift.starts))
    ).all()
    people = session.exec(
        select(User)
        .where(
            col(User.active).is_(True),
            col(User.role).in_([Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN]),
        )
        .order_by(col(User.full_name))
    ).all()
    names = {u.id: u.full_name for u in people} | {u.id: u.full_name for _, u in members}
    in_force = [policies.policy_in_force(session, priority=p) for p in policies.POLICY_PRIORITIES]
    return render(
        request,
        "oncall_manage.html",
        status_code=status_code,
        teams=teams,
        members=members,
        shifts=shifts,
        people=people,
        names=names,
        policies=[p for p in in_force if p is not None],
        blank_steps=BLANK_STEPS,
        kinds=list(TeamKind),
        duties=list(Duty),
        actions=list(StepAction),
        targets=list(Target),
        **extra,
    )


def _done(request: Request, session: SessionDep, key: str) -> Response:
    session.commit()
    return _manage_page(request, session, notice=translate(key, request.state.locale))


def _failed(request: Request, session: SessionDep, key: str, status: int = 422) -> Response:
    session.rollback()
    return _manage_page(
        request, session, status_code=status, error=translate(key, request.state.locale)
    )


def _refused(request: Request, session: SessionDep, exc: ApiError) -> Response:
    session.rollback()
    message = translate(exc.message_key, request.state.locale, **exc.params)
    return _manage_page(request, session, status_code=exc.status_code, error=message)


@router.get("/oncall/manage", response_class=HTMLResponse)
def manage_page(request: Request, session: SessionDep, _user: Manager) -> Response:
    return _manage_page(request, session)


@router.post("/oncall/manage/teams", response_class=HTMLResponse)
def add_team(
    request: Request,
    session: SessionDep,
    _user: Manager,
    name: Annotated[str, Form(max_length=200)],
    kind: Annotated[TeamKind, Form()],
) -> Response:
    if not name.strip():
        return _failed(request, session, "oncall_admin.error.team_name")
    try:
        roster.add_team(session, name=name, kind=kind)
    except ApiError as exc:
        return _refused(request, session, exc)
    return _done(request, session, "oncall_admin.saved.team")


@router.post("/oncall/manage/teams/{team_id}/members", response_class=HTMLResponse)
def add_member(
    request: Request,
    session: SessionDep,
    _user: Manager,
    team_id: uuid.UUID,
    user_id: Annotated[uuid.UUID, Form()],
    phone: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    try:
        roster.add_member(session, team_id=team_id, user_id=user_id, phone=phone.strip() or None)
    except ApiError as exc:
        return _refused(request, session, exc)
    return _done(request, session, "oncall_admin.saved.member")


@router.post("/oncall/manage/members/{member_id}/remove", response_class=HTMLResponse)
def remove_member(
    request: Request, session: SessionDep, _user: Manager, member_id: uuid.UUID
) -> Response:
    try:
        roster.remove_member(session, member_id=member_id)
    except ApiError as exc:
        return _refused(request, session, exc)
    return _done(request, session, "oncall_admin.saved.member_removed")


@router.post("/oncall/manage/teams/{team_id}/shifts", response_class=HTMLResponse)
def add_shift(
    request: Request,
    session: SessionDep,
    _user: Manager,
    team_id: uuid.UUID,
    name: Annotated[str, Form(max_length=100)],
    duty: Annotated[Duty, Form()],
    starts: Annotated[str, Form()],
    ends: Annotated[str, Form()],
    user_id: Annotated[uuid.UUID, Form()],
    backup_user_id: Annotated[str, Form()] = "",
    weekdays: Annotated[list[int] | None, Form()] = None,
) -> Response:
    """Local (Bangkok) start and end times; an end not after the start crosses midnight."""
    try:
        body = ShiftIn(
            name=name.strip(),
            duty=duty,
            weekdays=weekdays or [],
            starts=time.fromisoformat(starts),
            ends=time.fromisoformat(ends),
            user_id=user_id,
            backup_user_id=uuid.UUID(backup_user_id) if backup_user_id else None,
        )
        roster.add_shift(session, team_id=team_id, values=body.model_dump())
    except (ValueError, ValidationError):
        return _failed(request, session, "oncall_admin.error.shift")
    except ApiError as exc:
        return _refused(request, session, exc)
    return _done(request, session, "oncall_admin.saved.shift")


@router.post("/oncall/manage/shifts/{shift_id}/remove", response_class=HTMLResponse)
def end_shift(
    request: Request, session: SessionDep, _user: Manager, shift_id: uuid.UUID
) -> Response:
    try:
        roster.end_shift(session, shift_id=shift_id)
    except ApiError as exc:
        return _refused(request, session, exc)
    return _done(request, session, "oncall_admin.saved.shift_removed")


@router.post("/oncall/manage/policies/{priority}", response_class=HTMLResponse)
def save_policy(
    request: Request,
    session: SessionDep,
    user: Manager,
    priority: str,
    after_seconds: Annotated[list[str], Form()],
    action: Annotated[list[str], Form()],
    target: Annotated[list[str], Form()],
    repeat_after_seconds: Annotated[str, Form()] = "",
    max_rounds: Annotated[str, Form()] = "1",
) -> Response:
    """A new version from the form's step rows; a row with no time is left out."""
    try:
        steps = tuple(
            PolicyStep(after_seconds=int(seconds), action=StepAction(a), target=Target(t))
            for seconds, a, t in zip(after_seconds, action, target, strict=True)
            if seconds.strip()
        )
        body = PolicyBody(
            steps=steps,
            repeat_after_seconds=int(repeat_after_seconds)
            if repeat_after_seconds.strip()
            else None,
            max_rounds=int(max_rounds or 1),
        )
    except (ValueError, ValidationError):
        return _failed(request, session, "oncall_admin.error.policy")
    try:
        policies.save_policy(session, priority=priority.upper(), body=body, actor=user)
    except ApiError as exc:
        return _refused(request, session, exc)
    return _done(request, session, "oncall_admin.saved.policy")


# --- LINE link codes -----------------------------------------------------------------------


def _codes_page(
    request: Request, session: SessionDep, *, q: str, status_code: int = 200, **extra: object
) -> Response:
    found: list[tuple[EmergencyContact, Elder]] = []
    if q.strip():
        needle = f"%{q.strip()}%"
        found = list(
            session.exec(
                select(EmergencyContact, Elder)
                .join(Elder, col(Elder.id) == EmergencyContact.elder_id)
                .where(
                    col(Elder.first_name).ilike(needle)
                    | col(Elder.last_name).ilike(needle)
                    | col(EmergencyContact.name).ilike(needle)
                )
                .order_by(col(Elder.first_name), col(EmergencyContact.name))
                .limit(CONTACTS_SHOWN)
            ).all()
        )
    return render(
        request,
        "oncall_line_codes.html",
        status_code=status_code,
        q=q,
        found=found,
        masked={c.id: mask_recipient(c.phone) for c, _ in found},
        **extra,
    )


@router.get("/oncall/line-codes", response_class=HTMLResponse)
def line_codes_page(request: Request, session: SessionDep, _user: Manager, q: str = "") -> Response:
    return _codes_page(request, session, q=q[:100])


@router.post("/oncall/line-codes", response_class=HTMLResponse)
def issue_line_code(
    request: Request,
    session: SessionDep,
    user: Manager,
    contact_id: Annotated[uuid.UUID, Form()],
    send_sms: Annotated[bool, Form()] = False,
    q: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    contact = session.get(EmergencyContact, contact_id)
    if contact is None:
        return _codes_page(
            request, session, q=q, status_code=404,
            error=translate("common.not_found", request.state.locale),
        )  # fmt: skip
    issued = issue_link_code(session, contact=contact, actor=user, send_sms=send_sms)
    session.commit()
    return _codes_page(
        request, session, q=q, issued=issued, issued_to=contact.name, sent_by_sms=send_sms
    )
