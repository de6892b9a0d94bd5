"""The append-only audit log: who read or changed what about an elder, and when.

The database itself refuses UPDATE and DELETE on this table (triggers in the migration),
so no bug in the application can rewrite history.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.common.time import utcnow
from server.db import UTCDateTime


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor_id: uuid.UUID | None = Field(default=None, index=True)
    actor_username: str | None = Field(default=None, max_length=64)
    actor_role: str | None = Field(default=None, max_length=32)
    action: str = Field(max_length=32, index=True)
    entity: str = Field(max_length=32)
    entity_id: str | None = Field(default=None, max_length=64)
    elder_id: uuid.UUID | None = Field(default=None, index=True)
    fields: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    request_id: str | None = Field(default=None, max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
