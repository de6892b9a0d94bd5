"""What the care manager's screens are sent and send."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Person(BaseModel):
    id: uuid.UUID
    name: str


class CaseloadElder(BaseModel):
    id: uuid.UUID
    name: str
    community: str
    status: str
    adl_score: int | None
    adl_group: str | None
    mobility: str
    lives_alone: bool
    has_carer: bool
    latitude: float | None
    longitude: float | None
    caregiver_id: uuid.UUID | None
    volunteer_id: uuid.UUID | None
    # Risk flags: names from RISK_FLAGS, in that order.
    flags: list[str]
    red: int
    yellow: int
    open_followups: int
    open_reviews: int
    overdue_visits: int
    next_due: datetime | None
    last_reading_at: datetime | None


class CaseloadOut(BaseModel):
    elders: list[CaseloadElder]
    communities: list[str]
    people: list[Person]
    recent_days: int


class FieldChoice(BaseModel):
    name: str
    base: Any = None
    has_base: bool = False
    theirs: Any = None
    ours: Any = None


class QueueItem(BaseModel):
    id: uuid.UUID
    kind: str
    elder_id: uuid.UUID
    elder_name: str
    community: str
    priority: str | None
    entity: str
    entity_id: str | None
    raised_by: uuid.UUID | None
    raised_by_name: str | None
    created_at: datetime
    # Side by side for a conflict or a field worker's change; empty for readings.
    fields: list[FieldChoice]
    # For a follow-up: the readings that opened it, {code: value} each.
    readings: list[dict[str, Any]] = Field(default_factory=list)
    detail: dict[str, Any]


class Decision(_In):
    """Per field: keep the current value ("ours"), take the tablet's or the field worker's
    ("theirs"), or go back to what it was before both ("base")."""

    choices: dict[str, Literal["ours", "theirs", "base"]] = Field(min_length=1, max_length=40)
    note: str | None = Field(default=None, max_length=1000)


class DecisionOut(BaseModel):
    id: uuid.UUID
    status: str
    applied: dict[str, Any]


class DueVisit(BaseModel):
    id: uuid.UUID
    version: int
    elder_id: uuid.UUID
    elder_name: str
    community: str
    role: str
    reason: str
    status: str
    due_by: datetime | None
    assigned_to: uuid.UUID | None
    overdue: bool


class DueVisitsOut(BaseModel):
    visits: list[DueVisit]
    people: list[Person]
    caregivers: list[Person]


class AdlPoint(BaseModel):
    at: datetime
    score: int
    by: str | None


class DeviceRow(BaseModel):
    id: uuid.UUID
    kind: str
    label: str | None
    model: str | None
    active: bool
    last_seen_at: datetime | None
    battery: int | None
    offline_since: datetime | None = None


class AlertEventRow(BaseModel):
    at: datetime
    action: str
    to_status: str | None
    actor_name: str | None
    note: str | None


class AlertRow(BaseModel):
    id: uuid.UUID
    kind: str
    priority: str
    status: str
    occurred_at: datetime
    events: list[AlertEventRow]


class ConsentRow(BaseModel):
    scope: list[str]
    given_on: date
    withdrawn_on: date | None


class TargetsInfo(BaseModel):
    overrides: dict[str, Any]
    set_by: str | None
    set_at: datetime | None


class ManagerRecord(BaseModel):
    elder_id: uuid.UUID
    adl_history: list[AdlPoint]
    consents: list[ConsentRow]
    devices: list[DeviceRow]
    alerts: list[AlertRow]
    targets: TargetsInfo
    # Who the plan can assign: active caregivers and volunteers.
    caregivers: list[Person]
    volunteers: list[Person]
