"""Eligibility tables: rubric versions, rounds, applications, score snapshots, rankings,
committee votes and notes, appeals, and the installation tasks that follow approval."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.common.time import utcnow
from server.db import UTCDateTime, str_enum
from server.eligibility.ranking import Outcome, Vote


class RoundStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    SCORED = "scored"
    SCREENED = "screened"
    APPROVED = "approved"
    PUBLISHED = "published"


class ScoreReason(StrEnum):
    SUBMITTED = "submitted"
    CORRECTION = "correction"
    APPEAL = "appeal"


class AppealStatus(StrEnum):
    PENDING = "pending"
    UPHELD = "upheld"
    DISMISSED = "dismissed"


class TaskKind(StrEnum):
    INSTALL = "install_hub_and_button"
    TRAIN = "train_user"
    TEST_PRESS = "test_press"


class TaskStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"


class RubricVersion(SQLModel, table=True):
    """Immutable once a round uses it (`locked_at` set); a change is a new version."""

    __tablename__ = "eligibility_rubrics"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(max_length=300)
    # Canonical content (scoring.canonical) and its SHA-256.
    content: dict[str, Any] = Field(sa_type=sa.JSON)
    content_hash: str = Field(max_length=64, index=True)
    based_on_id: uuid.UUID | None = Field(default=None, foreign_key="eligibility_rubrics.id")
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    locked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Round(SQLModel, table=True):
    __tablename__ = "eligibility_rounds"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    version: int = 1
    title: str = Field(max_length=300)
    issuer: str = Field(max_length=200)  # the municipality that announces the list
    code: str = Field(max_length=16, sa_column_kwargs={"unique": True})  # number prefix
    rubric_id: uuid.UUID = Field(foreign_key="eligibility_rubrics.id", index=True)
    devices: int = Field(ge=0)
    opens_at: datetime = Field(sa_type=UTCDateTime)
    closes_at: datetime = Field(sa_type=UTCDateTime)
    appeal_days: int = Field(default=15, ge=0)
    status: RoundStatus = Field(default=RoundStatus.DRAFT, sa_type=str_enum(RoundStatus, 16))
    chair_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    # The ranking's draw seed, fixed the first time the round is ranked and kept after.
    seed: str | None = Field(default=None, max_length=64)
    next_number: int = 1
    approving_body: str | None = Field(default=None, max_length=300)
    approval_reference: str | None = Field(default=None, max_length=100)
    approved_on: date | None = None
    # Who signs the public notice, as printed under it (e.g. the mayor).
    signer_name: str | None = Field(default=None, max_length=200)
    signer_position: str | None = Field(default=None, max_length=200)
    approved_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    screened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    appeal_deadline: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Application(SQLModel, table=True):
    __tablename__ = "eligibility_applications"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "elder_id", name="uq_eligibility_application_person"),
        sa.UniqueConstraint("round_id", "number", name="uq_eligibility_application_number"),
        sa.Index("ix_eligibility_applications_round_rank", "round_id", "rank"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    round_id: uuid.UUID = Field(foreign_key="eligibility_rounds.id", index=True)
    elder_id: uuid.UUID = Field(foreign_key="elders.id", index=True)
    number: str = Field(max_length=32)
    # A copy of who applied, so the committee and the announcement need no registry reads.
    title: str | None = Field(default=None, max_length=32)
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    birth_date: date
    community: str = Field(max_length=100, index=True)
    answers: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    evidence_notes: str | None = Field(default=None, max_length=4000)
    assessed_by: uuid.UUID = Field(foreign_key="users.id")
    assessed_at: datetime = Field(sa_type=UTCDateTime)
    submitted_by: uuid.UUID = Field(foreign_key="users.id", index=True)
    submitted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Same name and birth date as another application in the round under another ID.
    possible_duplicate_of: str | None = Field(default=None, max_length=32)
    # Filed for a national ID the registry holds under an elder the submitter may not see:
    # kept out of the ranking until an administrator or the committee confirms who it is.
    identity_check: bool = False
    # The current score snapshot, copied here so the ranking and its filters are one query.
    score_id: uuid.UUID | None = Field(default=None)
    total_centi: int = 0
    targets_met: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    targets_count: int = 0
    eligible: bool = False
    adl: float | None = None
    # The current ranking.
    rank: int | None = None
    within_quota: bool = False
    decided_by: str | None = Field(default=None, max_length=16)
    outcome: Outcome | None = Field(default=None, sa_type=str_enum(Outcome, 16), index=True)
    enrolled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = 1


class ScoreSnapshot(SQLModel, table=True):
    """One scoring of one application: inputs, rubric hash, result, who and when. Never changed."""

    __tablename__ = "eligibility_scores"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    application_id: uuid.UUID = Field(foreign_key="eligibility_applications.id", index=True)
    sequence: int
    reason: ScoreReason = Field(sa_type=str_enum(ScoreReason, 16))
    answers: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    rubric_hash: str = Field(max_length=64)
    total_centi: int
    breakdown: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    targets_met: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    eligible: bool
    note: str | None = Field(default=None, max_length=1000)
    scored_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    scored_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RankingRun(SQLModel, table=True):
    """One computation of a round's ranking, with what it depended on and the order it gave."""

    __tablename__ = "eligibility_rankings"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    round_id: uuid.UUID = Field(foreign_key="eligibility_rounds.id", index=True)
    seed: str = Field(max_length=64)
    rubric_hash: str = Field(max_length=64)
    inputs_digest: str = Field(max_length=64)
    devices: int
    # Application numbers in rank order.
    order: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    computed_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    computed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Decision(SQLModel, table=True):
    """A committee member's current vote on an application (earlier votes are in the audit log)."""

    __tablename__ = "eligibility_decisions"
    __table_args__ = (
        sa.UniqueConstraint("application_id", "member_id", name="uq_eligibility_decision_member"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    round_id: uuid.UUID = Field(foreign_key="eligibility_rounds.id", index=True)
    application_id: uuid.UUID = Field(foreign_key="eligibility_applications.id", index=True)
    member_id: uuid.UUID = Field(foreign_key="users.id")
    decision: Vote = Field(sa_type=str_enum(Vote, 16))
    reason: str = Field(max_length=1000)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Note(SQLModel, table=True):
    __tablename__ = "eligibility_notes"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    application_id: uuid.UUID = Field(foreign_key="eligibility_applications.id", index=True)
    author_id: uuid.UUID = Field(foreign_key="users.id")
    text: str = Field(max_length=2000)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Appeal(SQLModel, table=True):
    __tablename__ = "eligibility_appeals"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    round_id: uuid.UUID = Field(foreign_key="eligibility_rounds.id", index=True)
    application_id: uuid.UUID = Field(foreign_key="eligibility_applications.id", index=True)
    reason: str = Field(max_length=2000)
    filed_by: uuid.UUID = Field(foreign_key="users.id")
    filed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    status: AppealStatus = Field(
        default=AppealStatus.PENDING, sa_type=str_enum(AppealStatus, 16), index=True
    )
    outcome_before: Outcome | None = Field(default=None, sa_type=str_enum(Outcome, 16))
    score_before_id: uuid.UUID | None = Field(default=None)
    score_after_id: uuid.UUID | None = Field(default=None)
    decision_reason: str | None = Field(default=None, max_length=2000)
    decided_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class InstallationTask(SQLModel, table=True):
    """What must happen between approval and service, so nobody falls between the two."""

    __tablename__ = "installation_tasks"
    __table_args__ = (
        sa.UniqueConstraint("application_id", "kind", name="uq_installation_task_kind"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    elder_id: uuid.UUID = Field(foreign_key="elders.id", index=True)
    round_id: uuid.UUID = Field(foreign_key="eligibility_rounds.id", index=True)
    application_id: uuid.UUID = Field(foreign_key="eligibility_applications.id")
    kind: TaskKind = Field(sa_type=str_enum(TaskKind, 32))
    position: int = 0
    status: TaskStatus = Field(
        default=TaskStatus.PENDING, sa_type=str_enum(TaskStatus, 16), index=True
    )
    note: str | None = Field(default=None, max_length=1000)
    done_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Attachment(SQLModel, table=True):
    """Evidence for an application (a scanned form, a photo); the bytes live under data_dir."""

    __tablename__ = "eligibility_attachments"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    application_id: uuid.UUID = Field(foreign_key="eligibility_applications.id", index=True)
    filename: str = Field(max_length=200)
    content_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)
    uploaded_by: uuid.UUID = Field(foreign_key="users.id")
    uploaded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
