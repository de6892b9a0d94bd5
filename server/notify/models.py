"""Every message the system sent, or would have sent: the notifier's record."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.common.time import utcnow
from server.db import UTCDateTime, str_enum


class Channel(StrEnum):
    SMS = "sms"
    VOICE = "voice"
    CONSOLE = "console"
    LINE = "line"


class NotificationStatus(StrEnum):
    RECORDED = "recorded"  # the recording notifier: logged, not sent
    QUEUED = "queued"  # waiting for the sender loop
    SENDING = "sending"  # claimed by one sender; never claimed twice
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_due", "status", "next_attempt_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    channel: Channel = Field(sa_type=str_enum(Channel, 16))
    to: str = Field(max_length=64)
    template_key: str = Field(max_length=100)
    params: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    locale: str = Field(default="th", max_length=8)
    status: NotificationStatus = Field(
        default=NotificationStatus.RECORDED, sa_type=str_enum(NotificationStatus, 16)
    )
    # What it is about (e.g. an alert), without a foreign key so any domain can notify.
    subject: str | None = Field(default=None, max_length=32)
    subject_id: uuid.UUID | None = Field(default=None, index=True)
    # The provider's id (a Twilio SID) once a real channel sends it.
    provider_ref: str | None = Field(default=None, max_length=64)
    error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    # The person reached (a call's keypress acts in their name) and the escalation step.
    user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    step: str | None = Field(default=None, max_length=64)
    # The sender loop's bookkeeping: tries, when to try next, who claimed it.
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, max_length=100)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The provider's last word (a call's ringing/in-progress/no-answer, an SMS's delivered).
    provider_status: str | None = Field(default=None, max_length=32)
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LineLink(SQLModel, table=True):
    """An emergency contact's LINE account, linked by a one-time code the contact sends."""

    __tablename__ = "line_links"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    contact_id: uuid.UUID = Field(
        foreign_key="emergency_contacts.id", index=True, ondelete="CASCADE"
    )
    # Six digits, shown to staff or sent by SMS; good once, for a short time.
    code: str | None = Field(default=None, max_length=8, index=True)
    code_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    line_user_id: str | None = Field(default=None, max_length=64, index=True)
    linked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
