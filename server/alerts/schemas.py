"""What the alerts API and the console read and write."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from server.alerts.models import AlertKind, AlertStatus, ResponderKind, ResponderStatus
from triage import Priority


class ReasonOut(BaseModel):
    key: str
    text: str


class ResponderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    kind: ResponderKind
    phone: str | None
    status: ResponderStatus
    current_alert_id: uuid.UUID | None
    active: bool


class ResponderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: ResponderKind = ResponderKind.TEAM
    phone: str | None = Field(default=None, max_length=32)
    user_id: uuid.UUID | None = None


class ResponderUpdate(BaseModel):
    """Only the fields sent change. `status` and `active` may be left out, never null: the
    schema says so (SkipJsonSchema), and an explicit null is a 422 naming the field."""

    model_config = ConfigDict(extra="forbid")

    status: ResponderStatus | SkipJsonSchema[None] = None
    active: bool | SkipJsonSchema[None] = None
    phone: str | None = Field(default=None, max_length=32)

    @field_validator("status", "active")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Defaults are not validated, so this sees only values the caller sent.
        if value is None:
            raise ValueError("may be left out, but not null")
        return value


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=1000)
    responder_id: uuid.UUID | None = None


class PhoneCallIn(BaseModel):
    """A phone-in emergency opened by a dispatcher."""

    model_config = ConfigDict(extra="forbid")

    elder_id: uuid.UUID
    priority: Priority
    reason: str = Field(min_length=3, max_length=1000, pattern=r"\S")


class AlertOut(BaseModel):
    """One alert as the queue shows it (no health data beyond the triage reasons)."""

    id: uuid.UUID
    elder_id: uuid.UUID
    elder_name: str
    elder_age: int | None
    community: str | None
    kind: AlertKind
    priority: Priority
    status: AlertStatus
    test: bool
    risk: float
    reasons: list[ReasonOut]
    # The one or two reasons the queue row shows; the card lists all of `reasons`.
    row_reasons: list[ReasonOut]
    created_at: datetime
    occurred_at: datetime
    due_at: datetime | None
    press_count: int
    last_pressed_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by_name: str | None
    dispatched_at: datetime | None
    responder: ResponderOut | None
    on_scene_at: datetime | None
    transported_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    close_reason: str | None
    seconds_to_acknowledge: float | None
    seconds_to_on_scene: float | None
    escalated: bool
    sla_breached: bool
    version: int
    # New and either RED or escalated: the console sounds until someone acknowledges.
    alarm: bool
    actions: list[str]


class TimelineItem(BaseModel):
    at: datetime
    action: str
    text: str
    from_status: str | None
    to_status: str | None
    actor_name: str | None
    note: str | None


class ContactCard(BaseModel):
    name: str
    relation: str
    phone: str


class ReadingOut(BaseModel):
    code: str
    label: str
    value: float
    unit: str
    observed_at: datetime
    priority: str | None


class ElderCard(BaseModel):
    """What a non-medical responder needs at the door."""

    id: uuid.UUID
    name: str
    age: int | None
    sex: str | None
    phone: str | None
    address: str | None
    community: str
    latitude: float | None
    longitude: float | None
    map_url: str | None
    access_notes: str | None
    lives_alone: bool | None
    has_carer: bool | None
    mobility: str | None
    fall_risk: bool | None
    chronic_conditions: list[str]
    medications: str | None
    allergies: str | None
    contacts: list[ContactCard]
    readings: list[ReadingOut]


class AlertDetail(BaseModel):
    alert: AlertOut
    elder: ElderCard
    timeline: list[TimelineItem]


class AlertList(BaseModel):
    items: list[AlertOut]
    now: datetime
