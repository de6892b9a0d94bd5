"""What a clinician sees on opening a consultation: one answer for the whole case."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from pydantic import BaseModel

from server.care.schemas import ConsultOut, HistoryOut, VisitOut, VoiceNoteOut


class CaseElder(BaseModel):
    """The elder as a clinician needs them for one question: no address or national ID."""

    id: uuid.UUID
    name: str
    birth_date: date
    sex: str
    community: str
    lives_alone: bool
    mobility: str
    fall_risk: bool
    chronic_conditions: list[str]
    medications: str | None
    allergies: str | None
    adl_score: int | None


class CasePlan(BaseModel):
    id: uuid.UUID
    version: int
    goals: list[str]
    targets: dict[str, Any]


class ConsultCase(BaseModel):
    consult: ConsultOut
    elder: CaseElder
    plan: CasePlan | None
    visit: VisitOut | None
    # The caregiver's question as spoken, and the notes recorded at the visit it came from.
    voice_notes: list[VoiceNoteOut]
    # The readings in the days around the question, each with its triage result.
    around: HistoryOut
    # The charts' history, compact: one [epoch milliseconds, {code: value}] per reading set,
    # oldest first. A year of a home hub's readings is ~100 KB this way, not 1.4 MB of points.
    history_days: int
    history: list[tuple[int, dict[str, float]]]


class QueueItem(BaseModel):
    """A line of the clinicians' queue: the question and whom it is about."""

    consult: ConsultOut
    elder_name: str
    community: str
