"""The roster: who is on duty at a moment (shifts in Asia/Bangkok time, overrides applied),
and the edits of teams, members, shifts and overrides that a supervisor makes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from server.auth.models import User
from server.common.time import BANGKOK, utcnow
from server.errors import ApiError
from server.oncall.models import Duty, Override, Shift, Team, TeamKind, TeamMember

# --- who is on duty -----------------------------------------------------------------------


@dataclass(frozen=True)
class OnDuty:
    team: Team
    duty: Duty
    user: User
    phone: str | None
    backup: User | None
    until: datetime
    via_override: bool


def _shift_window(shift: Shift, day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, shift.starts, BANGKOK)
    end = datetime.combine(day, shift.ends, BANGKOK)
    if shift.ends <= shift.starts:  # crosses midnight
        end += timedelta(days=1)
    return start, end


def on_duty(session: Session, *, at: datetime | None = None) -> list[OnDuty]:
    """Everyone on duty at `at` (default now), shifts in Asia/Bangkok time, overrides applied."""
    at = at or utcnow()
    local = at.astimezone(BANGKOK)
    # Active teams with their active shifts in one query (a team without shifts still
    # counts: an override may put someone on duty for it).
    teams: dict[uuid.UUID, Team] = {}
    shifts: list[Shift] = []
    for team, shift in session.exec(
        select(Team, Shift)
        .join(
            Shift,
            sa.and_(col(Shift.team_id) == col(Team.id), col(Shift.active).is_(True)),
            isouter=True,
        )
        .where(col(Team.active).is_(True))
    ).all():
        teams[team.id] = team
        if shift is not None:
            shifts.append(shift)
    # (team, duty, user) -> (backup user id, until, via override)
    found: dict[tuple[uuid.UUID, Duty, uuid.UUID], tuple[uuid.UUID | None, datetime, bool]] = {}
    for shift in shifts:
        for day in (local.date() - timedelta(days=1), local.date()):
            if shift.weekdays and day.weekday() not in shift.weekdays:
                continue
            start, end = _shift_window(shift, day)
            if start <= local < end:
                found[(shift.team_id, shift.duty, shift.user_id)] = (
                    shift.backup_user_id,
                    end,
                    False,
                )
    overrides = session.exec(
        select(Override)
        .where(
            col(Override.starts_at) <= at,
            col(Override.ends_at) > at,
            col(Override.team_id).in_(teams),
        )
        .order_by(col(Override.created_at))
    ).all()
    for o in overrides:
        backup: uuid.UUID | None = None
        if o.replaces_user_id is not None:
            replaced = found.pop((o.team_id, o.duty, o.replaces_user_id), None)
            backup = replaced[0] if replaced else None
        found[(o.team_id, o.duty, o.user_id)] = (backup, o.ends_at, True)
    user_ids = {k[2] for k in found} | {v[0] for v in found.values() if v[0]}
    users: dict[uuid.UUID, User] = {}
    phones: dict[tuple[uuid.UUID, uuid.UUID], str] = {}
    if user_ids:
        # The people with their team phones in one query.
        for person, member in session.exec(
            select(User, TeamMember)
            .join(
                TeamMember,
                sa.and_(
                    col(TeamMember.user_id) == col(User.id),
                    col(TeamMember.team_id).in_(teams),
                ),
                isouter=True,
            )
            .where(col(User.id).in_(user_ids))
        ).all():
            users[person.id] = person
            if member is not None and member.phone:
                phones[(member.team_id, member.user_id)] = member.phone
    result = []
    for (team_id, duty, user_id), (backup_id, until, via) in found.items():
        user = users.get(user_id)
        if user is None or not user.active:
            continue
        backup_user = users.get(backup_id) if backup_id else None
        result.append(
            OnDuty(
                team=teams[team_id],
                duty=duty,
                user=user,
                phone=phones.get((team_id, user_id)) or user.phone,
                backup=backup_user if backup_user is not None and backup_user.active else None,
                until=until,
                via_override=via,
            )
        )
    order = list(Duty)
    result.sort(key=lambda d: (order.index(d.duty), d.team.name, d.user.full_name))
    return result


# --- edits --------------------------------------------------------------------------------


def _team(session: Session, team_id: uuid.UUID) -> Team:
    team = session.get(Team, team_id)
    if team is None:
        raise ApiError(404, "not_found", "common.not_found")
    return team


def _user(session: Session, user_id: uuid.UUID, field: str) -> User:
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise ApiError(422, "unknown_user", "oncall.error.unknown_user", field=field)
    return user


def add_team(session: Session, *, name: str, kind: TeamKind) -> Team:
    if session.exec(select(Team).where(Team.name == name.strip())).first() is not None:
        raise ApiError(409, "team_exists", "oncall.error.team_exists", field="name")
    team = Team(name=name.strip(), kind=kind)
    session.add(team)
    session.flush()
    return team


def add_member(
    session: Session, *, team_id: uuid.UUID, user_id: uuid.UUID, phone: str | None
) -> TeamMember:
    _team(session, team_id)
    _user(session, user_id, "user_id")
    existing = session.exec(
        select(TeamMember).where(TeamMember.team_id == team_id, TeamMember.user_id == user_id)
    ).first()
    if existing is not None:
        existing.phone = phone or existing.phone
        existing.active = True
        session.add(existing)
        return existing
    member = TeamMember(team_id=team_id, user_id=user_id, phone=phone)
    session.add(member)
    session.flush()
    return member


def add_shift(session: Session, *, team_id: uuid.UUID, values: dict[str, object]) -> Shift:
    _team(session, team_id)
    _user(session, values["user_id"], "user_id")  # type: ignore[arg-type]
    if values.get("backup_user_id"):
        _user(session, values["backup_user_id"], "backup_user_id")  # type: ignore[arg-type]
    shift = Shift(team_id=team_id, **values)  # type: ignore[arg-type]
    session.add(shift)
    session.flush()
    return shift


def add_override(
    session: Session, *, team_id: uuid.UUID, values: dict[str, object], actor: User
) -> Override:
    _team(session, team_id)
    _user(session, values["user_id"], "user_id")  # type: ignore[arg-type]
    override = Override(team_id=team_id, created_by=actor.id, **values)  # type: ignore[arg-type]
    session.add(override)
    session.flush()
    return override


def remove_member(session: Session, *, member_id: uuid.UUID) -> TeamMember:
    """Takes a person off a team (kept, inactive: past calls still name them)."""
    member = session.get(TeamMember, member_id)
    if member is None or not member.active:
        raise ApiError(404, "not_found", "common.not_found")
    member.active = False
    session.add(member)
    return member


def end_shift(session: Session, *, shift_id: uuid.UUID) -> Shift:
    """A shift no longer worked (kept, inactive)."""
    shift = session.get(Shift, shift_id)
    if shift is None or not shift.active:
        raise ApiError(404, "not_found", "common.not_found")
    shift.active = False
    session.add(shift)
    return shift
