"""The elder registry: people, their emergency contacts and PDPA consent."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.common.time import utcnow
from server.db import UTCDateTime, str_enum


class ElderStatus(StrEnum):
    APPLICANT = "applicant"
    ENROLLED = "enrolled"
    PAUSED = "paused"
    WITHDRAWN = "withdrawn"
    DECEASED = "deceased"


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"


class Mobility(StrEnum):
    INDEPENDENT = "independent"
    WALKS_WITH_AID = "walks_with_aid"
    WHEELCHAIR = "wheelchair"
    BEDRIDDEN = "bedridden"


class Elder(SQLModel, table=True):
    __tablename__ = "elders"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # Optimistic concurrency: every update must name the version it was based on.
    version: int = 1
    national_id: str = Field(max_length=13, sa_column_kwargs={"unique": True})
    title: str | None = Field(default=None, max_length=32)
    first_name: str = Field(max_length=100, index=True)
    last_name: str = Field(max_length=100, index=True)
    birth_date: date
    sex: Sex = Field(sa_type=str_enum(Sex, 16))
    phone: str | None = Field(default=None, max_length=32)
    address: str = Field(max_length=500)
    community: str = Field(max_length=100, index=True)
    latitude: float | None = None
    longitude: float | None = None
    # What a responder needs at the door: key location, gate code, dog, etc.
    access_notes: str | None = Field(default=None, max_length=500)
    lives_alone: bool = False
    has_carer: bool = True
    mobility: Mobility = Field(default=Mobility.INDEPENDENT, sa_type=str_enum(Mobility))
    fall_risk: bool = False
    falls_past_year: int = Field(default=0, ge=0)
    chronic_conditions: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    medications: str | None = Field(default=None, max_length=2000)
    allergies: str | None = Field(default=None, max_length=1000)
    adl_score: int | None = Field(default=None, ge=0, le=20)
    status: ElderStatus = Field(
        default=ElderStatus.ENROLLED, sa_type=str_enum(ElderStatus, 16), index=True
    )
    caregiver_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", index=True)
    care_manager_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", index=True)
    volunteer_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class EmergencyContact(SQLModel, table=True):
    __tablename__ = "emergency_contacts"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    elder_id: uuid.UUID = Field(foreign_key="elders.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=200)
    relation: str = Field(max_length=64)
    phone: str = Field(max_length=32)
    notify_on_alerts: bool = True
    position: int = 0


class ConsentScope(StrEnum):
    CARE = "care"
    EMERGENCY = "emergency"
    TELEHEALTH = "telehealth"
    CITY_DATA = "city_data"


class Consent(SQLModel, table=True):
    """PDPA consent: what the elder agreed to, when, who recorded it, and any withdrawal."""

    __tablename__ = "consents"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    elder_id: uuid.UUID = Field(foreign_key="elders.id", index=True, ondelete="CASCADE")
    given_on: date
    scope: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    recorded_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    withdrawn_on: date | None = None
    notes: str | None = Field(default=None, max_length=500)
