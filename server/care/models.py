"""Care plans, the visit schedule and log, notes, voice notes, volunteers' check-ins,
telehealth consultations, the care manager's review queue, and the bookkeeping of offline sync.

Readings are not stored here: they are `server.observations` rows with `visit_id` set.
Every row a tablet holds carries `seq`, a number from one counter that only grows, so
"what changed since cursor N" is one indexed comparison on SQLite and PostgreSQL alike.
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


class VisitRole(StrEnum):
    """Who makes a kind of visit: the plan sets a frequency for each."""

    CAREGIVER = "caregiver"
    CARE_MANAGER = "care_manager"
    CLINICIAN = "clinician"
    VOLUNTEER = "volunteer"


class VisitStatus(StrEnum):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    MISSED = "missed"
    CANCELLED = "cancelled"


class VisitReason(StrEnum):
    PLAN = "plan"  # made from the care plan's frequency
    FOLLOW_UP = "follow_up"  # proposed after an abnormal reading
    URGENT = "urgent"  # asked for by a clinician or care manager
    UNSCHEDULED = "unscheduled"  # logged by a caregiver without a task


class CarePlan(SQLModel, table=True):
    __tablename__ = "care_plans"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # One living plan per elder; its history is the audit log and `version`.
    elder_id: uuid.UUID = Field(foreign_key="elders.id", sa_column_kwargs={"unique": True})
    version: int = 1
    goals: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    problems: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    # [{"role": "caregiver", "every_days": 7, "window_days": 1}, ...]
    frequencies: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    # Measurement codes to take at each visit, plus "adl" for the Barthel re-assessment.
    measurements: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    checklist: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    adl_every_days: int | None = None
    # A triage.Overrides as JSON; written through to the observations domain on save.
    targets: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    updated_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    seq: int = Field(default=0, sa_type=sa.BigInteger, index=True)


class Visit(SQLModel, table=True):
    __tablename__ = "visits"
    __table_args__ = (
        sa.Index("ix_visits_elder_due", "elder_id", "due_by"),
        sa.Index("ix_visits_status_due", "status", "due_by"),
    )

    # Made by the tablet for visits it logs offline; by the server for scheduled ones.
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    elder_id: uuid.UUID = Field(foreign_key="elders.id")
    care_plan_id: uuid.UUID | None = Field(default=None, foreign_key="care_plans.id")
    role: VisitRole = Field(default=VisitRole.CAREGIVER, sa_type=str_enum(VisitRole, 16))
    reason: VisitReason = Field(default=VisitReason.PLAN, sa_type=str_enum(VisitReason, 16))
    status: VisitStatus = Field(default=VisitStatus.SCHEDULED, sa_type=str_enum(VisitStatus, 16))
    version: int = 1
    assigned_to: uuid.UUID | None = Field(default=None, foreign_key="users.id", index=True)
    due_from: datetime | None = Field(default=None, sa_type=UTCDateTime)
    due_by: datetime | None = Field(default=None, sa_type=UTCDateTime)
    planned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    performed_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    latitude: float | None = None
    longitude: float | None = None
    # Metres between the reported position and the elder's registered home, if both known.
    distance_m: float | None = None
    checklist: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    notes: str | None = Field(default=None, max_length=5000)
    adl_score: int | None = Field(default=None, ge=0, le=20)
    adl_items: dict[str, int] = Field(default_factory=dict, sa_type=sa.JSON)
    problems: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    next_steps: str | None = Field(default=None, max_length=2000)
    # A dictated report: the voice note that stands in for typed notes.
    report_voice_note_id: uuid.UUID | None = None
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    seq: int = Field(default=0, sa_type=sa.BigInteger, index=True)


class CareNote(SQLModel, table=True):
    """A free note about an elder (at a visit or a consultation); written once, never edited."""

    __tablename__ = "care_notes"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    elder_id: uuid.UUID = Field(foreign_key="elders.id", index=True)
    visit_id: uuid.UUID | None = Field(default=None, foreign_key="visits.id", index=True)
    consult_id: uuid.UUID | None = Field(default=None, foreign_key="consults.id", index=True)
    author_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    text: str = Field(max_length=5000)
    written_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    seq: int = Field(default=0, sa_type=sa.BigInteger, index=True)


class VoicePurpose(StrEnum):
    NOTE = "note"
    REPORT = "report"  # a dictated visit report
    QUESTION = "question"  # a consultation's question
    ADVICE = "advice"  # a clinician's answer


class VoiceNote(SQLModel, table=True):
    """Audio attached to a visit or a consultation. The metadata may arrive (by sync) before
    the bytes (by upload); `stored` says whether the audio is here yet."""

    __tablename__ = "voice_notes"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    elder_id: uuid.UUID = Field(foreign_key="elders.id", index=True)
    visit_id: uuid.UUID | None = Field(default=None, foreign_key="visits.id", index=True)
    consult_id: uuid.UUID | None = Field(default=None, foreign_key="consults.id", index=True)
    author_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    purpose: VoicePurpose = Field(default=VoicePurpose.NOTE, sa_type=str_enum(VoicePurpose, 16))
    content_type: str = Field(max_length=64)
    size: int | None = None
    duration_s: float | None = None
    sha256: str | None = Field(default=None, max_length=64)
    stored: bool = False
    # "file" (under the voice directory, by id) or "db" (in `data`).
    storage: str | None = Field(default=None, max_length=8)
    data: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    seq: int = Field(default=0, sa_type=sa.BigInteger, index=True)


class Checkin(SQLModel, table=True):
    """A volunteer's "seen well today" (or not) for an elder."""

    __tablename__ = "volunteer_checkins"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    elder_id: uuid.UUID = Field(foreign_key="elders.id", index=True)
    volunteer_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    seen_well: bool
    note: str | None = Field(default=None, max_length=1000)
    checked_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    seq: int = Field(default=0, sa_type=sa.BigInteger, index=True)


class ConsultStatus(StrEnum):
    REQUESTED = "requested"
    IN_REVIEW = "in_review"
    ANSWERED = "answered"
    CLOSED = "closed"


class ConsultUrgency(StrEnum):
    URGENT = "urgent"
    SOON = "soon"
    ROUTINE = "routine"


class Consult(SQLModel, table=True):
    __tablename__ = "consults"
    __table_args__ = (sa.Index("ix_consults_status_urgency", "status", "urgency_rank"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    elder_id: uuid.UUID = Field(foreign_key="elders.id", index=True)
    version: int = 1
    requested_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    visit_id: uuid.UUID | None = Field(default=None, foreign_key="visits.id")
    question: str = Field(max_length=5000)
    urgency: ConsultUrgency = Field(sa_type=str_enum(ConsultUrgency, 16))
    # 0 urgent, 1 soon, 2 routine: the clinicians' queue sorts on it.
    urgency_rank: int = 2
    observation_ids: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    status: ConsultStatus = Field(
        default=ConsultStatus.REQUESTED, sa_type=str_enum(ConsultStatus, 16)
    )
    clinician_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    advice: str | None = Field(default=None, max_length=5000)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # What the answer led to: a visit made urgent, an alert raised, targets changed.
    outcome: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    # When its care manager was told it waits past its time (server/telehealth/overdue.py).
    overdue_notified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    seq: int = Field(default=0, sa_type=sa.BigInteger, index=True)


class ReviewKind(StrEnum):
    ABNORMAL_READING = "abnormal_reading"
    CRITICAL_READING = "critical_reading"
    VOLUNTEER_CHANGE = "volunteer_change"
    SYNC_CONFLICT = "sync_conflict"
    NOT_SEEN_WELL = "not_seen_well"


class ReviewStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class ReviewItem(SQLModel, table=True):
    """The care manager's queue: what needs a person to look at it, with what changed."""

    __tablename__ = "visit_reviews"
    __table_args__ = (sa.Index("ix_visit_reviews_status_created", "status", "created_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    kind: ReviewKind = Field(sa_type=str_enum(ReviewKind, 24))
    elder_id: uuid.UUID = Field(foreign_key="elders.id", index=True)
    # RED/YELLOW/GREEN/WHITE for readings; None for data changes.
    priority: str | None = Field(default=None, max_length=8)
    entity: str = Field(max_length=32)
    entity_id: str | None = Field(default=None, max_length=64)
    # What changed, or both versions of a conflicting edit ({"server": ..., "client": ...}).
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    status: ReviewStatus = Field(default=ReviewStatus.OPEN, sa_type=str_enum(ReviewStatus, 16))
    raised_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    resolved_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolution: str | None = Field(default=None, max_length=1000)


class SyncReceipt(SQLModel, table=True):
    """One row per sync record the server has acted on: a re-sent record gets the same answer."""

    __tablename__ = "sync_receipts"

    record_id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id")
    kind: str = Field(max_length=24)
    result: str = Field(max_length=16)
    target_id: str | None = Field(default=None, max_length=64)
    review_id: uuid.UUID | None = None
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SyncAccess(SQLModel, table=True):
    """Which elders a user's tablet was given, and since/until which cursor: the source of
    tombstones when an elder is unassigned."""

    __tablename__ = "sync_access"
    __table_args__ = (sa.Index("ix_sync_access_user", "user_id", "elder_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id")
    elder_id: uuid.UUID = Field(foreign_key="elders.id")
    granted_seq: int = Field(sa_type=sa.BigInteger)
    revoked_seq: int | None = Field(default=None, sa_type=sa.BigInteger)


class SyncCounter(SQLModel, table=True):
    """A single row: the last `seq` handed out. Its row lock orders writers' commits."""

    __tablename__ = "sync_counter"

    id: int = Field(primary_key=True)
    value: int = Field(default=0, sa_type=sa.BigInteger)
