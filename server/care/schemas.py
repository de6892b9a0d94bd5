"""API shapes of care plans, visits, readings, reviews, volunteers and consultations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

import triage
from server.care.models import (
    ConsultStatus,
    ConsultUrgency,
    ReviewKind,
    ReviewStatus,
    VisitReason,
    VisitRole,
    VisitStatus,
    VoicePurpose,
)
from server.elders.schemas import ElderOut

Text = Annotated[str, Field(min_length=1, max_length=300)]
LongText = Annotated[str, Field(max_length=5000)]

# The units a tablet may send for each code; triage judges BP in mmHg and glucose in mg/dL
# (mmol/L is converted by the observations domain).
UNITS: dict[str, tuple[str, ...]] = {
    "systolic": ("mm[Hg]",),
    "diastolic": ("mm[Hg]",),
    "pulse": ("/min",),
    "spo2": ("%",),
    "glucose": ("mg/dL", "mmol/L"),
    "temperature": ("Cel",),
    "respiration_rate": ("/min",),
}
MeasurementCode = Literal[
    "systolic", "diastolic", "pulse", "spo2", "glucose", "temperature", "respiration_rate"
]
PlanMeasurement = Literal[
    "systolic", "diastolic", "pulse", "spo2", "glucose", "temperature", "respiration_rate",
    "consciousness", "adl",
]  # fmt: skip

# Barthel ADL items and their highest score (the sum is 0-20).
BARTHEL_ITEMS: dict[str, int] = {
    "feeding": 2, "bathing": 1, "grooming": 1, "dressing": 2, "bowels": 2,
    "bladder": 2, "toilet_use": 2, "transfers": 3, "mobility": 3, "stairs": 2,
}  # fmt: skip


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- care plans ------------------------------------------------------------------------


class Frequency(_In):
    role: VisitRole
    every_days: int = Field(ge=1, le=366)
    # How many days either side of the due date still count as on time.
    window_days: int = Field(default=1, ge=0, le=30)


class _PlanFields(_In):
    goals: list[Text] = Field(default_factory=list, max_length=30)
    problems: list[Text] = Field(default_factory=list, max_length=30)
    frequencies: list[Frequency] = Field(default_factory=list, max_length=8)
    measurements: list[PlanMeasurement] = Field(default_factory=list, max_length=12)
    checklist: list[Text] = Field(default_factory=list, max_length=40)
    adl_every_days: int | None = Field(default=None, ge=7, le=730)
    targets: triage.Overrides | None = None

    @model_validator(mode="after")
    def _one_frequency_per_role(self) -> Self:
        roles = [f.role for f in self.frequencies]
        if len(roles) != len(set(roles)):
            raise ValueError("give one frequency per role")
        return self


class CarePlanCreate(_PlanFields):
    elder_id: uuid.UUID
    # Assignments live on the elder record; given here, they are written there.
    caregiver_id: uuid.UUID | None = None
    volunteer_id: uuid.UUID | None = None


class CarePlanUpdate(_In):
    version: int = Field(ge=1)
    goals: list[Text] | None = Field(default=None, max_length=30)
    problems: list[Text] | None = Field(default=None, max_length=30)
    frequencies: list[Frequency] | None = Field(default=None, max_length=8)
    measurements: list[PlanMeasurement] | None = Field(default=None, max_length=12)
    checklist: list[Text] | None = Field(default=None, max_length=40)
    adl_every_days: int | None = Field(default=None, ge=7, le=730)
    targets: triage.Overrides | None = None
    caregiver_id: uuid.UUID | None = None
    volunteer_id: uuid.UUID | None = None


class TargetsUpdate(_In):
    """A clinician's change to the plan's personal targets (None clears them)."""

    version: int = Field(ge=1)
    targets: triage.Overrides | None


class CarePlanOut(BaseModel):
    id: uuid.UUID
    elder_id: uuid.UUID
    version: int
    goals: list[str]
    problems: list[str]
    frequencies: list[Frequency]
    measurements: list[str]
    checklist: list[str]
    adl_every_days: int | None
    targets: dict[str, Any]
    caregiver_id: uuid.UUID | None
    volunteer_id: uuid.UUID | None
    updated_at: datetime


# --- visits ----------------------------------------------------------------------------


class ChecklistItem(_In):
    item: Text
    done: bool = False
    note: str | None = Field(default=None, max_length=500)


class _VisitLog(_In):
    started_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    checklist: list[ChecklistItem] | None = Field(default=None, max_length=60)
    notes: LongText | None = None
    adl_score: int | None = Field(default=None, ge=0, le=20)
    adl_items: dict[str, int] | None = None
    problems: list[Text] | None = Field(default=None, max_length=30)
    next_steps: Annotated[str, Field(max_length=2000)] | None = None
    report_voice_note_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give latitude and longitude together")
        if self.started_at and self.ended_at and self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        if self.adl_items is not None:
            unknown = sorted(set(self.adl_items) - set(BARTHEL_ITEMS))
            if unknown:
                raise ValueError(f"unknown Barthel items: {', '.join(unknown)}")
            for name, score in self.adl_items.items():
                if not 0 <= score <= BARTHEL_ITEMS[name]:
                    raise ValueError(f"Barthel {name} must be 0-{BARTHEL_ITEMS[name]}")
            if len(self.adl_items) == len(BARTHEL_ITEMS):
                total = sum(self.adl_items.values())
                if self.adl_score is not None and self.adl_score != total:
                    raise ValueError(f"adl_score {self.adl_score} is not the items' sum {total}")
                self.adl_score = total
        return self


class VisitCreate(_VisitLog):
    id: uuid.UUID | None = None
    elder_id: uuid.UUID
    role: VisitRole = VisitRole.CAREGIVER
    reason: Literal[VisitReason.UNSCHEDULED, VisitReason.URGENT] = VisitReason.UNSCHEDULED
    status: VisitStatus = VisitStatus.SCHEDULED
    due_from: AwareDatetime | None = None
    due_by: AwareDatetime | None = None
    planned_at: AwareDatetime | None = None
    assigned_to: uuid.UUID | None = None


class VisitUpdate(_VisitLog):
    version: int = Field(ge=1)
    status: VisitStatus | None = None
    planned_at: AwareDatetime | None = None
    due_by: AwareDatetime | None = None
    assigned_to: uuid.UUID | None = None


class VisitOut(BaseModel):
    id: uuid.UUID
    elder_id: uuid.UUID
    care_plan_id: uuid.UUID | None
    role: VisitRole
    reason: VisitReason
    status: VisitStatus
    version: int
    assigned_to: uuid.UUID | None
    due_from: datetime | None
    due_by: datetime | None
    planned_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    performed_by: uuid.UUID | None
    latitude: float | None
    longitude: float | None
    distance_m: float | None
    checklist: list[dict[str, Any]]
    notes: str | None
    adl_score: int | None
    adl_items: dict[str, int]
    problems: list[str]
    next_steps: str | None
    report_voice_note_id: uuid.UUID | None
    overdue: bool = False
    updated_at: datetime


class TodayItem(BaseModel):
    visit: VisitOut
    elder_name: str
    community: str
    overdue: bool
    measurements: list[str]
    checklist: list[str]
    adl_due: bool


# --- readings ---------------------------------------------------------------------------


class ReadingIn(_In):
    code: MeasurementCode
    value: float
    unit: str | None = Field(default=None, max_length=16)

    @model_validator(mode="after")
    def _known_unit(self) -> Self:
        allowed = UNITS[self.code]
        if self.unit is None:
            self.unit = allowed[0]
        elif self.unit not in allowed:
            raise ValueError(f"{self.code}: unit must be one of {', '.join(allowed)}")
        return self


class ObservationIn(_In):
    id: uuid.UUID
    observed_at: AwareDatetime
    readings: list[ReadingIn] = Field(default_factory=list, max_length=12)
    source: Literal["visit", "manual"] = "visit"
    on_oxygen: bool = False
    consciousness: triage.Consciousness | None = None
    # Read from a Bluetooth device on the tablet: the device's own clock (kept even when it
    # looked wrong and observed_at is the time of saving instead) and the bytes it sent.
    device_time: AwareDatetime | None = None
    device_clock_suspect: bool = False
    raw_hex: str | None = Field(default=None, max_length=1024, pattern=r"^[0-9a-f]*$")

    @model_validator(mode="after")
    def _something_measured(self) -> Self:
        if not self.readings and self.consciousness is None:
            raise ValueError("give at least one reading or a consciousness level")
        codes = [r.code for r in self.readings]
        if len(codes) != len(set(codes)):
            raise ValueError("each code at most once per observation")
        return self


class FollowUp(BaseModel):
    review_id: uuid.UUID | None = None
    visit_id: uuid.UUID | None = None
    # "raised"/"joined" with the alert id when the emergency path exists; "pending" otherwise.
    alert: str | None = None
    alert_id: uuid.UUID | None = None


class ObservationOut(BaseModel):
    id: uuid.UUID
    created: bool
    priority: str | None
    reasons: list[triage.Reason]
    follow_up: FollowUp | None = None


class HistoryPointOut(BaseModel):
    observation_id: uuid.UUID
    observed_at: datetime
    code: str
    value: float
    unit: str


class HistoryObservation(BaseModel):
    id: uuid.UUID
    observed_at: datetime
    source: str
    visit_id: uuid.UUID | None
    priority: str | None
    news2: int | None
    news2_partial: bool
    reasons: list[str]


class HistoryOut(BaseModel):
    elder_id: uuid.UUID
    points: list[HistoryPointOut]
    observations: list[HistoryObservation]


# --- reviews ----------------------------------------------------------------------------


class ReviewOut(BaseModel):
    id: uuid.UUID
    kind: ReviewKind
    elder_id: uuid.UUID
    priority: str | None
    entity: str
    entity_id: str | None
    detail: dict[str, Any]
    status: ReviewStatus
    raised_by: uuid.UUID | None
    created_at: datetime
    resolved_by: uuid.UUID | None
    resolved_at: datetime | None
    resolution: str | None


class ReviewResolve(_In):
    resolution: Annotated[str, Field(max_length=1000)] | None = None
    # For a sync conflict: apply the tablet's version on top of the current one.
    apply_client: bool = False


# --- volunteers -------------------------------------------------------------------------


class CheckinIn(_In):
    id: uuid.UUID | None = None
    seen_well: bool
    note: Annotated[str, Field(max_length=1000)] | None = None
    checked_at: AwareDatetime | None = None


class CheckinOut(BaseModel):
    id: uuid.UUID
    elder_id: uuid.UUID
    volunteer_id: uuid.UUID | None
    seen_well: bool
    note: str | None
    checked_at: datetime
    review_id: uuid.UUID | None = None


# --- consultations ----------------------------------------------------------------------


class ConsultCreate(_In):
    id: uuid.UUID | None = None
    elder_id: uuid.UUID
    question: Annotated[str, Field(min_length=1, max_length=5000)]
    urgency: ConsultUrgency = ConsultUrgency.ROUTINE
    observation_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50)
    visit_id: uuid.UUID | None = None


class ConsultAnswer(_In):
    version: int = Field(ge=1)
    advice: Annotated[str, Field(max_length=5000)] | None = None
    # Changes the care plan's targets (and so triage) when given.
    targets: triage.Overrides | None = None
    follow_up: Literal["urgent_visit", "alert"] | None = None
    # Spoken advice: voice notes the clinician uploaded to this consultation (purpose=advice).
    voice_note_ids: list[uuid.UUID] = Field(default_factory=list, max_length=10)

    @model_validator(mode="after")
    def _says_something(self) -> Self:
        if not (self.advice or self.targets or self.follow_up or self.voice_note_ids):
            raise ValueError("an answer needs advice, targets, a follow-up or a voice note")
        return self


class ConsultOut(BaseModel):
    id: uuid.UUID
    elder_id: uuid.UUID
    version: int
    requested_by: uuid.UUID | None
    visit_id: uuid.UUID | None
    question: str
    urgency: ConsultUrgency
    observation_ids: list[str]
    status: ConsultStatus
    clinician_id: uuid.UUID | None
    advice: str | None
    answered_at: datetime | None
    closed_at: datetime | None
    outcome: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    voice_note_ids: list[uuid.UUID] = Field(default_factory=list)
    # When an answer is due for its urgency, and whether an open one has waited past it.
    answer_due_by: datetime | None = None
    overdue: bool = False


# --- voice notes ------------------------------------------------------------------------


class VoiceNoteOut(BaseModel):
    id: uuid.UUID
    elder_id: uuid.UUID
    visit_id: uuid.UUID | None
    consult_id: uuid.UUID | None
    author_id: uuid.UUID | None
    purpose: VoicePurpose
    content_type: str
    size: int | None
    duration_s: float | None
    sha256: str | None
    stored: bool
    recorded_at: datetime
    created: bool = True


# --- notes and offline sync -------------------------------------------------------------


class NoteOut(BaseModel):
    id: uuid.UUID
    elder_id: uuid.UUID
    visit_id: uuid.UUID | None
    consult_id: uuid.UUID | None
    author_id: uuid.UUID | None
    text: str
    written_at: datetime


class NoteIn(_In):
    elder_id: uuid.UUID
    visit_id: uuid.UUID | None = None
    consult_id: uuid.UUID | None = None
    text: Annotated[str, Field(min_length=1, max_length=5000)]
    written_at: AwareDatetime | None = None


class VoiceNoteMeta(_In):
    visit_id: uuid.UUID | None = None
    consult_id: uuid.UUID | None = None
    content_type: Annotated[str, Field(min_length=1, max_length=64)]
    purpose: VoicePurpose = VoicePurpose.NOTE
    size: int | None = Field(default=None, ge=1)
    duration_s: float | None = Field(default=None, ge=0, le=7200)
    recorded_at: AwareDatetime

    @model_validator(mode="after")
    def _one_owner(self) -> Self:
        if (self.visit_id is None) == (self.consult_id is None):
            raise ValueError("give exactly one of visit_id and consult_id")
        return self


SyncKind = Literal[
    "visit", "visit_update", "observation", "note", "voice_note", "checkin", "consult",
    "elder_update",
]  # fmt: skip
SyncOutcome = Literal["stored", "duplicate", "conflict", "rejected"]


class SyncRecord(_In):
    """One record made offline. `id` is the tablet's UUID for this record (and the new
    item's id when it creates one); edits name `target_id` and the `base_version` the
    tablet's copy had."""

    id: uuid.UUID
    type: SyncKind
    target_id: uuid.UUID | None = None
    base_version: int | None = Field(default=None, ge=1)
    data: dict[str, Any] = Field(default_factory=dict)
    # The edited fields as the tablet had them at base_version: shown beside a conflict.
    base: dict[str, Any] | None = None


class SyncPush(BaseModel):
    # Raw items: each is validated on its own so one bad record never sinks the batch.
    records: list[Any] = Field(max_length=2000)


class SyncResult(BaseModel):
    id: str | None
    type: str | None
    result: SyncOutcome
    reason: str | None = None
    message: str | None = None
    field: str | None = None
    target_id: str | None = None
    version: int | None = None
    review_id: uuid.UUID | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class SyncPushOut(BaseModel):
    results: list[SyncResult]
    counts: dict[str, int]


class SyncReading(BaseModel):
    code: str
    value: float
    unit: str


class SyncObservation(BaseModel):
    id: uuid.UUID
    elder_id: uuid.UUID
    visit_id: uuid.UUID | None
    source: str
    observed_at: datetime
    recorded_at: datetime
    priority: str | None
    readings: list[SyncReading]
    reasons: list[str]


class Tombstone(BaseModel):
    entity: Literal["elder"]
    id: uuid.UUID


class SyncPullOut(BaseModel):
    cursor: str
    full: bool
    elders: list[ElderOut] = Field(default_factory=list)
    care_plans: list[CarePlanOut] = Field(default_factory=list)
    visits: list[VisitOut] = Field(default_factory=list)
    observations: list[SyncObservation] = Field(default_factory=list)
    notes: list[NoteOut] = Field(default_factory=list)
    voice_notes: list[VoiceNoteOut] = Field(default_factory=list)
    consults: list[ConsultOut] = Field(default_factory=list)
    checkins: list[CheckinOut] = Field(default_factory=list)
    tombstones: list[Tombstone] = Field(default_factory=list)
