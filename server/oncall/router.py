"""The roster and policy API, and the process's escalation and sending loop."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from sqlmodel import col, select

from server.auth.models import Role, User
from server.deps import HandlerRoute, SessionDep, require_roles
from server.errors import ApiError
from server.oncall import policies, roster
from server.oncall.models import Override, Shift, Team, TeamMember
from server.oncall.schemas import (
    MemberIn,
    MemberOut,
    OnDutyOut,
    OverrideIn,
    OverrideOut,
    PolicyBody,
    PolicyOut,
    ShiftIn,
    ShiftOut,
    TeamIn,
    TeamOut,
)

log = logging.getLogger(__name__)

READ_ROLES = frozenset({Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN})
Reader = Annotated[User, Depends(require_roles(*READ_ROLES))]
Manager = Annotated[User, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]


router = APIRouter(route_class=HandlerRoute, prefix="/api/v1/oncall", tags=["oncall"])


def _on_duty_out(entry: roster.OnDuty) -> OnDutyOut:
    return OnDutyOut(
        team_id=entry.team.id,
        team=entry.team.name,
        duty=entry.duty,
        user_id=entry.user.id,
        name=entry.user.full_name,
        phone=entry.phone,
        backup_user_id=entry.backup.id if entry.backup else None,
        backup_name=entry.backup.full_name if entry.backup else None,
        until=entry.until,
        via_override=entry.via_override,
    )


@router.get("/now")
def who_is_on_duty(
    session: SessionDep, _user: Reader, at: datetime | None = None
) -> list[OnDutyOut]:
    if at is not None and at.tzinfo is None:
        raise ApiError(422, "naive_time", "oncall.error.naive_time", field="at")
    return [_on_duty_out(e) for e in roster.on_duty(session, at=at)]


@router.get("/teams")
def list_teams(session: SessionDep, _user: Reader) -> list[TeamOut]:
    teams = session.exec(select(Team).order_by(col(Team.name))).all()
    return [TeamOut(id=t.id, name=t.name, kind=t.kind, active=t.active) for t in teams]


@router.post("/teams", status_code=201)
def create_team(body: TeamIn, session: SessionDep, _user: Manager) -> TeamOut:
    team = roster.add_team(session, name=body.name, kind=body.kind)
    session.commit()
    return TeamOut(id=team.id, name=team.name, kind=team.kind, active=team.active)


@router.get("/teams/{team_id}/members")
def list_members(team_id: uuid.UUID, session: SessionDep, _user: Reader) -> list[MemberOut]:
    rows = session.exec(
        select(TeamMember, User)
        .join(User, col(User.id) == TeamMember.user_id)
        .where(TeamMember.team_id == team_id, col(TeamMember.active).is_(True))
    ).all()
    return [
        MemberOut(id=m.id, team_id=m.team_id, user_id=m.user_id, phone=m.phone, name=u.full_name)
        for m, u in rows
    ]


@router.post("/teams/{team_id}/members", status_code=201)
def add_member(
    team_id: uuid.UUID, body: MemberIn, session: SessionDep, _user: Manager
) -> MemberOut:
    member = roster.add_member(session, team_id=team_id, user_id=body.user_id, phone=body.phone)
    session.commit()
    user = session.get(User, member.user_id)
    return MemberOut(
        id=member.id,
        team_id=team_id,
        user_id=member.user_id,
        phone=member.phone,
        name=user.full_name if user else "",
    )


@router.delete("/teams/{team_id}/members/{member_id}", status_code=204)
def remove_member(
    team_id: uuid.UUID, member_id: uuid.UUID, session: SessionDep, _user: Manager
) -> None:
    member = session.get(TeamMember, member_id)
    if member is None or member.team_id != team_id:
        raise ApiError(404, "not_found", "common.not_found")
    roster.remove_member(session, member_id=member_id)
    session.commit()


@router.get("/teams/{team_id}/shifts")
def list_shifts(team_id: uuid.UUID, session: SessionDep, _user: Reader) -> list[ShiftOut]:
    rows = session.exec(
        select(Shift).where(Shift.team_id == team_id, col(Shift.active).is_(True))
    ).all()
    return [ShiftOut.model_validate(r, from_attributes=True) for r in rows]


@router.post("/teams/{team_id}/shifts", status_code=201)
def add_shift(team_id: uuid.UUID, body: ShiftIn, session: SessionDep, _user: Manager) -> ShiftOut:
    shift = roster.add_shift(session, team_id=team_id, values=body.model_dump())
    session.commit()
    return ShiftOut.model_validate(shift, from_attributes=True)


@router.delete("/shifts/{shift_id}", status_code=204)
def end_shift(shift_id: uuid.UUID, session: SessionDep, _user: Manager) -> None:
    roster.end_shift(session, shift_id=shift_id)
    session.commit()


@router.post("/teams/{team_id}/overrides", status_code=201)
def add_override(
    team_id: uuid.UUID, body: OverrideIn, session: SessionDep, user: Manager
) -> OverrideOut:
    override = roster.add_override(session, team_id=team_id, values=body.model_dump(), actor=user)
    session.commit()
    return OverrideOut.model_validate(override, from_attributes=True)


@router.get("/overrides")
def list_overrides(session: SessionDep, _user: Reader) -> list[OverrideOut]:
    rows = session.exec(select(Override).order_by(col(Override.starts_at).desc()).limit(200))
    return [OverrideOut.model_validate(r, from_attributes=True) for r in rows]


def _policy_out(policy: policies.PolicyVersion) -> PolicyOut:
    return PolicyOut(
        priority=policy.priority,
        version=policy.version,
        body=policy.body,
        created_at=policy.created_at,
        built_in=policy.version == 0,
    )


@router.get("/policies")
def list_policies(session: SessionDep, _user: Reader) -> list[PolicyOut]:
    found = (policies.policy_in_force(session, priority=p) for p in policies.POLICY_PRIORITIES)
    return [_policy_out(p) for p in found if p is not None]


@router.get("/policies/{priority}")
def get_policy(priority: str, session: SessionDep, _user: Reader) -> PolicyOut:
    policy = policies.policy_in_force(session, priority=priority.upper())
    if policy is None:
        raise ApiError(404, "not_found", "common.not_found")
    return _policy_out(policy)


@router.put("/policies/{priority}")
def save_policy(priority: str, body: PolicyBody, session: SessionDep, user: Manager) -> PolicyOut:
    policy = policies.save_policy(session, priority=priority.upper(), body=body, actor=user)
    session.commit()
    return _policy_out(policy)
