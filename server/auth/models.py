"""People who log in, their roles and failed-login records."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from server.common.time import utcnow
from server.db import UTCDateTime, str_enum


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    DISPATCHER = "dispatcher"
    CARE_MANAGER = "care_manager"
    CAREGIVER = "caregiver"
    VOLUNTEER = "volunteer"
    CLINICIAN = "clinician"
    COMMITTEE = "committee"


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    username: str = Field(max_length=64, sa_column_kwargs={"unique": True}, index=True)
    full_name: str = Field(max_length=200)
    role: Role = Field(sa_type=str_enum(Role), index=True)
    password_hash: str = Field(max_length=255)
    # None: follow the browser (Accept-Language); "th" or "en": the person chose.
    locale: str | None = Field(default=None, max_length=8)
    phone: str | None = Field(default=None, max_length=32)
    active: bool = True
    # Bumping this invalidates every token and browser session the user holds.
    token_version: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LoginAttempt(SQLModel, table=True):
    __tablename__ = "login_attempts"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, index=True)
    ip: str | None = Field(default=None, max_length=64)
    success: bool
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
