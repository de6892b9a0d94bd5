"""Alerts, their timelines, the timers that escalate them and the units sent to them."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.common.time import utcnow
from server.db import UTCDateTime, str_enum
from triage import Priority


class AlertKind(StrEnum):
    PANIC = "panic"
    FALL = "fall"
    VITALS = "vitals"
    HUB_OFFLINE = "hub_offline"
    LOW_BATTERY = "low_battery"
    DEVICE_PROBLEM = "device_problem"
    # Opened by a dispatcher for a phone-in emergency (no device involved).
    PHONE_CALL = "phone_call"


# Device problems: one open alert per device, cleared by the device itself.
MAINTENANCE_KINDS = frozenset(
    {AlertKind.HUB_OFFLINE, AlertKind.LOW_BATTERY, AlertKind.DEVICE_PROBLEM}
)


class AlertStatus(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    DISPATCHED = "dispatched"
    ON_SCENE = "on_scene"
    TRANSPORTED = "transported"
    RESOLVED = "resolved"
    CANCELLED = "cancelled"
    FALSE_ALARM = "false_alarm"


OPEN_STATUSES = frozenset(
    {AlertStatus.NEW, AlertStatus.ACKNOWLEDGED, AlertStatus.DISPATCHED, AlertStatus.ON_SCENE}
)
CLOSED_STATUSES = frozenset(AlertStatus) - OPEN_STATUSES


class Alert(SQLModel, table=True):
    __tablename__ = "alerts"
    __table_args__ = (sa.Index("ix_alerts_elder_status", "elder_id", "status"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    elder_id: uuid.UUID = Field(foreign_key="elders.id")
    kind: AlertKind = Field(sa_type=str_enum(AlertKind))
    priority: Priority = Field(sa_type=str_enum(Priority, 8))
    status: AlertStatus = Field(default=AlertStatus.NEW, sa_type=str_enum(AlertStatus), index=True)
    test: bool = False
    risk: float = 0.0
    # triage.Reason dumps: [{"key": ..., "params": {...}}]
    reasons: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    # Where it came from; no foreign keys to other domains' event tables.
    source_event_id: uuid.UUID | None = None
    observation_id: uuid.UUID | None = None
    device_id: uuid.UUID | None = Field(default=None, foreign_key="devices.id")
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    # The response target (created + target minutes); the console counts down to it.
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    press_count: int = 1
    last_pressed_at: datetime = Field(sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    dispatched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    responder_id: uuid.UUID | None = Field(default=None, foreign_key="responders.id")
    on_scene_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    transported_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    close_reason: str | None = Field(default=None, max_length=500)
    # Kept, not recomputed: the figures reports are made of.
    seconds_to_acknowledge: float | None = None
    seconds_to_on_scene: float | None = None
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sla_breached: bool = False
    version: int = 1


class AlertEvent(SQLModel, table=True):
    """One row of an alert's timeline: a transition, a repeated press, an escalation."""

    __tablename__ = "alert_events"

    id: int | None = Field(default=None, primary_key=True)
    alert_id: uuid.UUID = Field(foreign_key="alerts.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    action: str = Field(max_length=32)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str | None = Field(default=None, max_length=16)
    actor_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    actor_name: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=1000)
    # A system-written line (i18n key + params), e.g. "hub back online after 2 h 14 min".
    note_key: str | None = Field(default=None, max_length=100)
    params: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    # The device event behind a press, so a re-sent event is never counted twice.
    source_event_id: uuid.UUID | None = Field(default=None, sa_column_kwargs={"unique": True})


class TimerStatus(StrEnum):
    PENDING = "pending"
    FIRED = "fired"
    SKIPPED = "skipped"  # its condition no longer held when it came due
    CANCELLED = "cancelled"


class AlertTimer(SQLModel, table=True):
    """An escalation step or SLA milestone as data: survives restarts, fires once."""

    __tablename__ = "alert_timers"
    __table_args__ = (sa.Index("ix_alert_timers_status_due", "status", "due_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    alert_id: uuid.UUID = Field(foreign_key="alerts.id", index=True)
    step: str = Field(max_length=32)
    due_at: datetime = Field(sa_type=UTCDateTime)
    status: TimerStatus = Field(default=TimerStatus.PENDING, sa_type=str_enum(TimerStatus, 16))
    fired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Which server process ran it (host:pid), to prove a timer fired once.
    fired_by: str | None = Field(default=None, max_length=100)


class ResponderKind(StrEnum):
    PERSON = "person"
    TEAM = "team"
    VEHICLE = "vehicle"


class ResponderStatus(StrEnum):
    AVAILABLE = "available"
    BUSY = "busy"
    OFF_DUTY = "off_duty"


class Responder(SQLModel, table=True):
    """Who can be sent: a person, a team or a vehicle of the emergency unit."""

    __tablename__ = "responders"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=200)
    kind: ResponderKind = Field(default=ResponderKind.TEAM, sa_type=str_enum(ResponderKind, 16))
    phone: str | None = Field(default=None, max_length=32)
    status: ResponderStatus = Field(
        default=ResponderStatus.AVAILABLE, sa_type=str_enum(ResponderStatus, 16)
    )
    # No foreign key: alerts already point here, and a cycle would tangle migrations.
    current_alert_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
