"""The satisfaction survey: a few answers recorded after a resolved alert or a home visit."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.care.models import Visit
from server.common.time import utcnow
from server.db import UTCDateTime, str_enum
from server.observations.models import Observation


class SurveyContext(StrEnum):
    ALERT = "alert"
    VISIT = "visit"


class SurveyChannel(StrEnum):
    STAFF = "staff"  # asked by a staff member, by phone or at the door
    LINK = "link"  # answered by the elder or family from an SMS/LINE link


class SatisfactionSurvey(SQLModel, table=True):
    """One answer set. Scores are 1 (very dissatisfied) to 5 (very satisfied)."""

    __tablename__ = "satisfaction_surveys"
    __table_args__ = (
        sa.Index("ix_satisfaction_surveys_answered", "answered_at"),
        # One survey per alert or visit: asking twice would count a person twice.
        sa.UniqueConstraint("context", "subject_id", name="uq_satisfaction_surveys_subject"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    context: SurveyContext = Field(sa_type=str_enum(SurveyContext, 16))
    # The alert or visit asked about (no foreign key: domains stay apart).
    subject_id: uuid.UUID
    elder_id: uuid.UUID = Field(foreign_key="elders.id", index=True)
    channel: SurveyChannel = Field(default=SurveyChannel.STAFF, sa_type=str_enum(SurveyChannel, 16))
    overall: int = Field(ge=1, le=5)
    # Optional detail: how fast help came (alerts) / how useful the visit was (visits).
    timeliness: int | None = Field(default=None, ge=1, le=5)
    courtesy: int | None = Field(default=None, ge=1, le=5)
    comment: str | None = Field(default=None, max_length=1000)
    recorded_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    answered_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SurveyInvitation(SQLModel, table=True):
    """A link sent to a family by SMS or LINE: one per alert or visit, whichever process sends."""

    __tablename__ = "survey_invitations"
    __table_args__ = (
        sa.UniqueConstraint("context", "subject_id", name="uq_survey_invitations_subject"),
        sa.Index("ix_survey_invitations_elder", "elder_id", "context", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    context: SurveyContext = Field(sa_type=str_enum(SurveyContext, 16))
    subject_id: uuid.UUID
    elder_id: uuid.UUID = Field(foreign_key="elders.id")
    # The contact asked; the message itself is a notification row about this invitation.
    contact_id: uuid.UUID | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


# Indexes the monthly reports need on other domains' tables (a month's slice of a year of
# data), declared here so those domains' models stay as they are. Creating them binds them to
# the tables' metadata, so migrations and the schema check see them.
REPORT_INDEXES = (
    sa.Index("ix_observations_time_priority", Observation.__table__.c.observed_at,  # type: ignore[attr-defined]
             Observation.__table__.c.priority),  # type: ignore[attr-defined]
    sa.Index("ix_visits_due_by", Visit.__table__.c.due_by),  # type: ignore[attr-defined]
    sa.Index("ix_visits_ended_at", Visit.__table__.c.ended_at),  # type: ignore[attr-defined]
)  # fmt: skip
