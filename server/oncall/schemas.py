"""The roster and policy API, and the shape of an escalation policy."""

from __future__ import annotations

import uuid
from datetime import datetime, time
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from server.oncall.models import Duty, TeamKind


class Target(StrEnum):
    """Whom a step reaches, resolved against the roster at the moment it fires."""

    DISPATCHER = "dispatcher"  # the on-duty dispatcher(s)
    SUPERVISOR = "supervisor"  # the on-duty supervisor(s)
    BACKUP = "backup"  # the backups of the on-duty dispatcher shifts
    TEAM = "team"  # everyone on duty now


class StepAction(StrEnum):
    CONSOLE = "console"  # the console alarm (a timeline line; the console sounds it)
    CALL = "call"  # a voice call, press 1 to acknowledge
    SMS = "sms"


class PolicyStep(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    after_seconds: int = Field(ge=0, le=24 * 3600)
    action: StepAction
    target: Target


class PolicyBody(BaseModel):
    """Steps count from the alert's creation; the chain runs while the alert is unacknowledged.

    After the last step the chain starts again `repeat_after_seconds` later (steps at 0 s
    excepted), at most `max_rounds` passes in all.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    steps: tuple[PolicyStep, ...] = Field(min_length=1, max_length=50)
    repeat_after_seconds: int | None = Field(default=None, ge=1, le=24 * 3600)
    max_rounds: int = Field(default=1, ge=1, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> PolicyBody:
        times = [s.after_seconds for s in self.steps]
        if times != sorted(times):
            raise ValueError("steps must be in order of after_seconds")
        if self.repeat_after_seconds is not None and self.repeat_after_seconds < times[-1]:
            raise ValueError("repeat_after_seconds must not be shorter than the last step")
        return self


class PolicyOut(BaseModel):
    priority: str
    version: int
    body: PolicyBody
    created_at: datetime | None
    built_in: bool


class TeamIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: TeamKind


class TeamOut(TeamIn):
    id: uuid.UUID
    active: bool


class MemberIn(BaseModel):
    user_id: uuid.UUID
    phone: str | None = Field(default=None, max_length=32)


class MemberOut(MemberIn):
    id: uuid.UUID
    team_id: uuid.UUID
    name: str


class ShiftIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    duty: Duty
    weekdays: list[int] = Field(default_factory=list)
    starts: time
    ends: time
    user_id: uuid.UUID
    backup_user_id: uuid.UUID | None = None

    @field_validator("weekdays")
    @classmethod
    def _days(cls, value: list[int]) -> list[int]:
        if any(d < 0 or d > 6 for d in value):
            raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")
        return sorted(set(value))

    @model_validator(mode="after")
    def _not_empty(self) -> ShiftIn:
        if self.starts == self.ends:
            raise ValueError("a shift must not start and end at the same time")
        return self


class ShiftOut(ShiftIn):
    id: uuid.UUID
    team_id: uuid.UUID


class OverrideIn(BaseModel):
    duty: Duty
    user_id: uuid.UUID
    replaces_user_id: uuid.UUID | None = None
    starts_at: datetime
    ends_at: datetime
    note: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _window(self) -> OverrideIn:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("give times with a time zone (e.g. +07:00)")
        if self.ends_at <= self.starts_at:
            raise ValueError("an override must end after it starts")
        return self


class OverrideOut(OverrideIn):
    id: uuid.UUID
    team_id: uuid.UUID


class OnDutyOut(BaseModel):
    team_id: uuid.UUID
    team: str
    duty: Duty
    user_id: uuid.UUID
    name: str
    phone: str | None
    backup_user_id: uuid.UUID | None
    backup_name: str | None
    until: datetime
    via_override: bool
