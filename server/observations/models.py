"""Every vital-sign reading of an elder, whatever its source, with its triage result.

One `Observation` is what was measured together (a BP cuff gives systolic, diastolic and
pulse at once); its numbers are `ObservationValue` rows so history and charts can ask for one
code over time. Alerts (device readings) and visits (kit or typed readings) share this table.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.common.time import utcnow
from server.db import UTCDateTime, str_enum


class ObservationSource(StrEnum):
    DEVICE = "device"
    VISIT = "visit"
    MANUAL = "manual"


class Observation(SQLModel, table=True):
    __tablename__ = "observations"
    __table_args__ = (sa.Index("ix_observations_elder_time", "elder_id", "observed_at"),)

    # Made by the client (agent event id, tablet UUID) so a re-sent reading is stored once.
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    elder_id: uuid.UUID = Field(foreign_key="elders.id")
    source: ObservationSource = Field(sa_type=str_enum(ObservationSource, 16))
    observed_at: datetime = Field(sa_type=UTCDateTime)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    recorded_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    device_id: uuid.UUID | None = Field(default=None, foreign_key="devices.id")
    # The visit this was taken at (visits domain); no foreign key so domains stay apart.
    visit_id: uuid.UUID | None = Field(default=None, index=True)
    device_time: datetime | None = Field(default=None, sa_type=UTCDateTime)
    device_clock_suspect: bool = False
    raw_hex: str | None = Field(default=None, max_length=1024)
    on_oxygen: bool = False
    consciousness: str | None = Field(default=None, max_length=32)
    # Triage at the time of recording: priority (None = nothing to raise) and the full result.
    priority: str | None = Field(default=None, max_length=8, index=True)
    triage: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    rule_set_version: str | None = Field(default=None, max_length=32)


class ObservationValue(SQLModel, table=True):
    __tablename__ = "observation_values"
    __table_args__ = (
        sa.Index("ix_observation_values_elder_code_time", "elder_id", "code", "observed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    observation_id: uuid.UUID = Field(foreign_key="observations.id", index=True, ondelete="CASCADE")
    # Repeated from the observation so "one code for one elder over a year" is one index scan.
    elder_id: uuid.UUID = Field(foreign_key="elders.id")
    observed_at: datetime = Field(sa_type=UTCDateTime)
    code: str = Field(max_length=32)
    value: float
    unit: str = Field(max_length=16)


class TriageOverrides(SQLModel, table=True):
    """An elder's personal targets (from the care plan or a clinician) that triage applies."""

    __tablename__ = "triage_overrides"

    elder_id: uuid.UUID = Field(foreign_key="elders.id", primary_key=True)
    overrides: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    set_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    set_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
