"""The roster (teams, members, shifts, overrides), escalation policies and running chains."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.common.time import utcnow
from server.db import UTCDateTime, str_enum


class TeamKind(StrEnum):
    CENTRE = "centre"  # the 24-hour monitoring centre (dispatchers)
    RESCUE = "rescue"  # rescue / ambulance units
    SUPERVISORS = "supervisors"


class Duty(StrEnum):
    """What a person on a shift is called for; escalation steps name these."""

    DISPATCHER = "dispatcher"
    SUPERVISOR = "supervisor"
    RESPONDER = "responder"


class Team(SQLModel, table=True):
    __tablename__ = "oncall_teams"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=200, sa_column_kwargs={"unique": True})
    kind: TeamKind = Field(sa_type=str_enum(TeamKind, 16))
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TeamMember(SQLModel, table=True):
    """A person of a team. Members log in, so a keypress on a call acts in their name."""

    __tablename__ = "oncall_members"
    __table_args__ = (sa.UniqueConstraint("team_id", "user_id", name="uq_oncall_member"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    team_id: uuid.UUID = Field(foreign_key="oncall_teams.id", index=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    # The number to call for this team, if not the person's own.
    phone: str | None = Field(default=None, max_length=32)
    active: bool = True


class Shift(SQLModel, table=True):
    """A recurring shift in local time (Asia/Bangkok); `ends <= starts` crosses midnight."""

    __tablename__ = "oncall_shifts"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    team_id: uuid.UUID = Field(foreign_key="oncall_teams.id", index=True)
    name: str = Field(max_length=100)
    duty: Duty = Field(sa_type=str_enum(Duty, 16))
    # Local weekdays (Monday = 0) on which the shift starts; empty means every day.
    weekdays: list[int] = Field(default_factory=list, sa_type=sa.JSON)
    starts: time
    ends: time
    user_id: uuid.UUID = Field(foreign_key="users.id")
    backup_user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    active: bool = True


class Override(SQLModel, table=True):
    """A swap or a sick day: `user_id` is on duty in the window, in place of `replaces_user_id`."""

    __tablename__ = "oncall_overrides"
    __table_args__ = (sa.Index("ix_oncall_overrides_window", "starts_at", "ends_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    team_id: uuid.UUID = Field(foreign_key="oncall_teams.id", index=True)
    duty: Duty = Field(sa_type=str_enum(Duty, 16))
    user_id: uuid.UUID = Field(foreign_key="users.id")
    replaces_user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    note: str | None = Field(default=None, max_length=500)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class EscalationPolicy(SQLModel, table=True):
    """One version of the escalation policy for a priority; the newest is in force."""

    __tablename__ = "escalation_policies"
    __table_args__ = (sa.UniqueConstraint("priority", "version", name="uq_policy_version"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    priority: str = Field(max_length=8, index=True)
    version: int
    # schemas.PolicyBody as JSON: steps, repeat_after_seconds, max_rounds.
    body: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ChainStatus(StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"  # the alert was acknowledged or closed
    EXHAUSTED = "exhausted"  # every round ran and nobody acknowledged


class AlertEscalation(SQLModel, table=True):
    """An alert's running chain, with the policy copied in when the alert opened."""

    __tablename__ = "alert_escalations"
    __table_args__ = (sa.Index("ix_alert_escalations_status_due", "status", "next_due_at"),)

    alert_id: uuid.UUID = Field(foreign_key="alerts.id", primary_key=True)
    priority: str = Field(max_length=8)
    policy_version: int
    body: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    started_at: datetime = Field(sa_type=UTCDateTime)
    # The next step to run: round (0 = first pass) and index into the steps.
    round: int = 0
    step_index: int = 0
    next_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: ChainStatus = Field(default=ChainStatus.RUNNING, sa_type=str_enum(ChainStatus, 16))
    last_fired_by: str | None = Field(default=None, max_length=100)
