"""A roster for escalation tests: a centre with a dispatcher (and backup) and a supervisor."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from server.auth.models import Role, User
from server.common.time import BANGKOK, utcnow
from server.oncall import policies, roster
from server.oncall.models import Duty, TeamKind
from server.oncall.schemas import PolicyBody, PolicyStep, StepAction, Target

DISPATCHER_PHONE = "081-111-1111"
SUPERVISOR_PHONE = "082-222-2222"
BACKUP_PHONE = "083-333-3333"


@dataclass
class Roster:
    dispatcher: User
    supervisor: User
    backup: User


def _person(session: Session, role: Role, name: str, phone: str, password_hash: str) -> User:
    user = User(
        username=f"{name}-{uuid.uuid4().hex[:6]}",
        full_name=name,
        role=role,
        password_hash=password_hash,
        phone=phone,
    )
    session.add(user)
    session.flush()
    return user


def around_now(hours: int = 3, at: datetime | None = None) -> tuple[object, object]:
    """Start and end times (local) of a shift covering `at`; it may cross midnight."""
    local = (at or utcnow()).astimezone(BANGKOK)
    return (local - timedelta(hours=hours)).time(), (local + timedelta(hours=hours)).time()


def make_roster(session: Session, password_hash: str) -> Roster:
    dispatcher = _person(
        session, Role.DISPATCHER, "Dao Dispatcher", DISPATCHER_PHONE, password_hash
    )
    supervisor = _person(
        session, Role.SUPERVISOR, "Somchai Supervisor", SUPERVISOR_PHONE, password_hash
    )
    backup = _person(session, Role.DISPATCHER, "Ben Backup", BACKUP_PHONE, password_hash)
    centre = roster.add_team(session, name="Monitoring centre", kind=TeamKind.CENTRE)
    sups = roster.add_team(session, name="Supervisors", kind=TeamKind.SUPERVISORS)
    starts, ends = around_now()
    for team, user in ((centre, dispatcher), (centre, backup), (sups, supervisor)):
        roster.add_member(session, team_id=team.id, user_id=user.id, phone=None)
    roster.add_shift(
        session,
        team_id=centre.id,
        values={"name": "night", "duty": Duty.DISPATCHER, "weekdays": [], "starts": starts,
                "ends": ends, "user_id": dispatcher.id, "backup_user_id": backup.id},
    )  # fmt: skip
    roster.add_shift(
        session,
        team_id=sups.id,
        values={"name": "night", "duty": Duty.SUPERVISOR, "weekdays": [], "starts": starts,
                "ends": ends, "user_id": supervisor.id, "backup_user_id": None},
    )  # fmt: skip
    session.commit()
    return Roster(dispatcher, supervisor, backup)


def short_red_policy(scale: float = 1 / 30) -> PolicyBody:
    """The default RED policy's shape with its times scaled down (60 s → 2 s at 1/30)."""
    default = policies.DEFAULT_POLICIES["RED"]
    steps = tuple(
        PolicyStep(after_seconds=round(s.after_seconds * scale), action=s.action, target=s.target)
        for s in default.steps
    )
    return PolicyBody(
        steps=steps,
        repeat_after_seconds=round((default.repeat_after_seconds or 0) * scale),
        max_rounds=2,
    )


def save_short_policy(session: Session, scale: float = 1 / 30) -> PolicyBody:
    body = short_red_policy(scale)
    policies.save_policy(session, priority="RED", body=body, actor=None)
    session.commit()
    return body


__all__ = ["StepAction", "Target"]
