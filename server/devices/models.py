"""Devices in elders' homes and hub tokens; the hub event store (append-only, keyed by the
agent's event id) and hub supervision state."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.common.time import utcnow
from server.db import UTCDateTime, str_enum


class DeviceKind(StrEnum):
    HUB = "hub"
    PANIC_BUTTON = "panic_button"
    BP_MONITOR = "bp_monitor"
    PULSE_OXIMETER = "pulse_oximeter"
    GLUCOSE_METER = "glucose_meter"


class Device(SQLModel, table=True):
    __tablename__ = "devices"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    elder_id: uuid.UUID | None = Field(default=None, foreign_key="elders.id", index=True)
    kind: DeviceKind = Field(sa_type=str_enum(DeviceKind))
    label: str | None = Field(default=None, max_length=100)
    model: str | None = Field(default=None, max_length=100)
    ble_address: str | None = Field(default=None, max_length=64)
    active: bool = True
    last_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    battery: int | None = Field(default=None, ge=0, le=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class HubToken(SQLModel, table=True):
    """A home hub's credential. Shown once; only its SHA-256 is kept."""

    __tablename__ = "hub_tokens"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    device_id: uuid.UUID = Field(foreign_key="devices.id", index=True)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    # The first characters, so an admin can tell tokens apart without seeing them.
    prefix: str = Field(max_length=16)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AgentEvent(SQLModel, table=True):
    """Every event a hub sent, stored once. Rows are never updated; they are deleted only
    by retention (`prune_events`), once older than the raw device record is kept for."""

    __tablename__ = "agent_events"
    __table_args__ = (
        sa.Index("ix_agent_events_elder_time", "elder_id", "occurred_at"),
        sa.Index("ix_agent_events_hub_kind_time", "hub_id", "kind", "occurred_at"),
        # For retention. Rows arrive in `received_at` order, so on PostgreSQL a BRIN index
        # (a few pages for millions of rows, next to nothing per insert) finds the old ones.
        sa.Index("ix_agent_events_received", "received_at", postgresql_using="brin"),
    )

    # Made by the agent: the idempotency key.
    id: uuid.UUID = Field(primary_key=True)
    hub_id: uuid.UUID = Field(foreign_key="devices.id")
    # Always the hub's own elder at the time of receipt, never anything the event says.
    elder_id: uuid.UUID = Field(foreign_key="elders.id")
    # The peripheral that produced it, as the hub names it (BLE address, "hub", ...).
    device: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)


class HubStatus(SQLModel, table=True):
    """What supervision knows of a hub: when it was last heard, its devices, open problems."""

    __tablename__ = "hub_status"

    hub_id: uuid.UUID = Field(foreign_key="devices.id", primary_key=True)
    elder_id: uuid.UUID | None = Field(default=None, foreign_key="elders.id")
    first_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    # From the newest heartbeat (by the hub's clock).
    last_heartbeat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    agent_version: str | None = Field(default=None, max_length=32)
    outbox_depth: int | None = None
    adapter_ok: bool | None = None
    # Whether the hub can say a prompt aloud (False: no player or no audio device).
    speaker_ok: bool | None = None
    # Per-peripheral health from that heartbeat: [{device, reachable, battery, ...}].
    devices: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    # Set when missed check-ins raised a hub_offline alert: the last time it was heard.
    offline_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    offline_alert_id: uuid.UUID | None = None
    # Peripherals with an open low-battery alert: {device name: alert id}.
    low_battery: dict[str, str] = Field(default_factory=dict, sa_type=sa.JSON)
    # The open device alert raised because the hub's disk is full (from its heartbeat).
    storage_alert_id: uuid.UUID | None = None
    # When devices.last_seen_at / battery in the registry were last refreshed from here.
    registry_synced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PendingReading(SQLModel, table=True):
    """A stored vitals event not yet made into an observation (the projector's to-do list).

    Written in the same transaction as the event, deleted once its observation is
    committed: a reading is acked as soon as it is stored and is never forgotten.
    """

    __tablename__ = "agent_event_backlog"

    event_id: uuid.UUID = Field(foreign_key="agent_events.id", primary_key=True)
    queued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class HubDownlink(SQLModel, table=True):
    """A message for a hub (e.g. "say: help is coming"), written with the change that calls
    for it and sent down the hub's WebSocket once it is connected, until the hub acks it."""

    __tablename__ = "hub_downlinks"
    __table_args__ = (sa.Index("ix_hub_downlinks_pending", "hub_id", "acked_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    hub_id: uuid.UUID = Field(foreign_key="devices.id")
    kind: str = Field(max_length=16)
    # The message's fields besides type, id and kind (e.g. {"prompt": "help_coming"}).
    body: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    alert_id: uuid.UUID | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = 0
    acked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The hub's answer: played, no_speaker, failed, unsupported.
    outcome: str | None = Field(default=None, max_length=16)
