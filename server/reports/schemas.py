"""API shapes of the reports domain (the reports themselves are plain dataclasses)."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from server.reports.models import SurveyChannel, SurveyContext


class SurveyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    context: SurveyContext
    subject_id: uuid.UUID  # the alert or the visit asked about
    channel: SurveyChannel = SurveyChannel.STAFF
    overall: int = Field(ge=1, le=5)
    timeliness: int | None = Field(default=None, ge=1, le=5)
    courtesy: int | None = Field(default=None, ge=1, le=5)
    comment: str | None = Field(default=None, max_length=1000)
    answered_at: datetime | None = None


class SurveyOut(BaseModel):
    id: uuid.UUID
    context: SurveyContext
    subject_id: uuid.UUID
    channel: SurveyChannel
    overall: int
    timeliness: int | None
    courtesy: int | None
    answered_at: datetime


class SurveyLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    context: SurveyContext
    subject_id: uuid.UUID


class SurveyLinkOut(BaseModel):
    url: str
