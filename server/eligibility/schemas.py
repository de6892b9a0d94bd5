"""API shapes of the eligibility process, and which roles do what."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from server.auth.models import Role
from server.common.time import BANGKOK
from server.elders.models import Sex
from server.elders.schemas import PHONE, BirthDate, NationalId
from server.eligibility.models import AppealStatus, RoundStatus, TaskKind, TaskStatus
from server.eligibility.ranking import Outcome, Vote

# Who does what (the permission matrix in tests/server/permissions/eligibility.py mirrors it).
SUBMITTERS = frozenset({Role.ADMIN, Role.CARE_MANAGER, Role.VOLUNTEER})
MANAGERS = frozenset({Role.ADMIN, Role.COMMITTEE})
READERS = SUBMITTERS | MANAGERS
INSTALLERS = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.CARE_MANAGER, Role.CAREGIVER})

Text = Annotated[str, Field(min_length=1, max_length=500)]
Key = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_]+$")]
AnswerValue = str | int | float | None
Reason = Annotated[str, Field(min_length=3, max_length=1000)]


class OptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: Key
    points: int = Field(ge=0, le=1000)
    label: dict[str, Text]


class BandIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    start: Decimal = Field(alias="from")
    points: int = Field(ge=0, le=1000)


class CriterionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Key
    kind: Literal["choice", "number"]
    question: dict[str, Text]
    weight: Decimal = Field(default=Decimal(1), gt=0, le=100)
    options: list[OptionIn] | None = None
    min: Decimal | None = None
    max: Decimal | None = None
    bands: list[BandIn] | None = None
    unit: str | None = Field(default=None, max_length=32)
    derived: Literal["age_from_birth_date"] | None = None


class RequirementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    criterion: Key
    min_points: int = Field(ge=1, le=1000)


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Key
    label: dict[str, Text]
    requires: list[RequirementIn] = Field(min_length=1, max_length=10)


class RubricIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=300)
    based_on_id: uuid.UUID | None = None
    criteria: list[CriterionIn] = Field(min_length=1, max_length=40)
    targets: list[TargetIn] = Field(default_factory=list, max_length=10)
    min_targets: int = Field(default=0, ge=0)
    adl_criterion: Key | None = None

    def content(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", exclude={"name", "based_on_id"}, by_alias=True)
        for criterion in data["criteria"]:
            for field in ("options", "min", "max", "bands", "unit", "derived"):
                if criterion.get(field) is None:
                    criterion.pop(field, None)
        return data


class RubricOut(BaseModel):
    id: uuid.UUID
    name: str
    content_hash: str
    content: dict[str, Any]
    based_on_id: uuid.UUID | None
    created_at: datetime
    locked: bool
    locked_at: datetime | None
    max_total: str


RoundCode = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9-]+$")]


class RoundCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=300)
    issuer: str = Field(min_length=1, max_length=200)
    code: RoundCode
    rubric_id: uuid.UUID
    devices: int = Field(ge=1, le=1_000_000)
    opens_at: AwareDatetime
    closes_at: AwareDatetime
    appeal_days: int = Field(default=15, ge=0, le=365)
    chair_id: uuid.UUID | None = None


class RoundUpdate(BaseModel):
    """Every field optional; `version` is the version the edit was based on."""

    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1)
    title: str | None = Field(default=None, min_length=1, max_length=300)
    issuer: str | None = Field(default=None, min_length=1, max_length=200)
    rubric_id: uuid.UUID | None = None
    devices: int | None = Field(default=None, ge=1, le=1_000_000)
    opens_at: AwareDatetime | None = None
    closes_at: AwareDatetime | None = None
    appeal_days: int | None = Field(default=None, ge=0, le=365)
    chair_id: uuid.UUID | None = None


class RoundOut(BaseModel):
    id: uuid.UUID
    version: int
    title: str
    issuer: str
    code: str
    rubric_id: uuid.UUID
    rubric_hash: str
    devices: int
    opens_at: datetime
    closes_at: datetime
    appeal_days: int
    status: RoundStatus
    chair_id: uuid.UUID | None
    seed: str | None
    approving_body: str | None
    approval_reference: str | None
    approved_on: date | None
    signer_name: str | None = None
    signer_position: str | None = None
    screened_at: datetime | None
    published_at: datetime | None
    appeal_deadline: datetime | None
    applications: int
    eligible: int


class RankIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # E.g. the number drawn in public at the committee meeting; generated when absent.
    seed: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")


# Thai officials write the Buddhist Era year (2569); Gregorian is 543 less. A year this far
# from the round's dates is a typing slip, not an approval date.
BE_OFFSET = 543
APPROVAL_YEARS_AROUND_TODAY = 2


def parse_official_date(value: object, *, today: date | None = None) -> date:
    """2026-12-01, 2569-12-01 or 1/12/2569 (day/month/year, B.E. or C.E.) -> a Gregorian date.

    Raises ValueError with a message a person can act on when the year cannot be right.
    """
    if isinstance(value, date):
        day, month, year = value.day, value.month, value.year
    elif isinstance(value, str):
        text = value.strip()
        iso = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
        thai = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text)
        if iso:
            year, month, day = (int(g) for g in iso.groups())
        elif thai:
            day, month, year = (int(g) for g in thai.groups())
        else:
            raise ValueError("date must be day/month/year, e.g. 1/12/2569")
    else:
        raise ValueError("date must be day/month/year, e.g. 1/12/2569")
    if year > 2400:  # a Buddhist Era year
        year -= BE_OFFSET
    now = today or datetime.now(BANGKOK).date()
    if abs(year - now.year) > APPROVAL_YEARS_AROUND_TODAY:
        raise ValueError(
            f"year {year} (B.E. {year + BE_OFFSET}) is not near {now.year} "
            f"(B.E. {now.year + BE_OFFSET}); check the year"
        )
    try:
        return date(year, month, day)
    except ValueError as error:
        raise ValueError(f"no such date: {day}/{month}/{year}") from error


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approving_body: str = Field(min_length=3, max_length=300)
    # As officials type it: 1/12/2569, 2569-12-01 or 2026-12-01 (see parse_official_date).
    approved_on: date | str = Field(union_mode="left_to_right")
    reference: str | None = Field(default=None, max_length=100)
    # Printed under the public notice; a notice without them has an empty signature line.
    signer_name: str | None = Field(default=None, min_length=3, max_length=200)
    signer_position: str | None = Field(default=None, min_length=2, max_length=200)


class NewApplicant(BaseModel):
    """A person not yet in the registry; the application records them as an applicant."""

    model_config = ConfigDict(extra="forbid")
    national_id: NationalId
    title: str | None = Field(default=None, max_length=32)
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    birth_date: BirthDate
    sex: Sex
    phone: PHONE | None = None
    address: str = Field(min_length=1, max_length=500)
    community: str = Field(min_length=1, max_length=100)


class ApplicationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    elder_id: uuid.UUID | None = None
    person: NewApplicant | None = None
    answers: dict[Key, AnswerValue] = Field(max_length=40)
    evidence_notes: str | None = Field(default=None, max_length=4000)
    assessed_by: uuid.UUID | None = None
    assessed_at: AwareDatetime | None = None


class ApplicationCorrection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1)
    answers: dict[Key, AnswerValue] = Field(max_length=40)
    reason: Reason
    evidence_notes: str | None = Field(default=None, max_length=4000)


class CriterionScoreOut(BaseModel):
    criterion: str
    question: str
    answer: AnswerValue
    answer_label: str | None
    points: int
    weight: str
    weighted: str


class ScoreOut(BaseModel):
    id: uuid.UUID
    sequence: int
    reason: str
    total: str
    total_centi: int
    breakdown: list[CriterionScoreOut]
    targets_met: list[str]
    eligible: bool
    rubric_hash: str
    note: str | None
    scored_by: uuid.UUID | None
    scored_at: datetime


class VoteOut(BaseModel):
    member_id: uuid.UUID
    member_name: str
    decision: Vote
    reason: str
    at: datetime


class NoteOut(BaseModel):
    id: uuid.UUID
    author_name: str
    text: str
    at: datetime


class ApplicationOut(BaseModel):
    id: uuid.UUID
    round_id: uuid.UUID
    elder_id: uuid.UUID
    number: str
    name: str
    community: str
    answers: dict[str, AnswerValue]
    evidence_notes: str | None
    assessed_by: uuid.UUID
    assessed_at: datetime
    submitted_by: uuid.UUID
    submitted_at: datetime
    possible_duplicate_of: str | None
    score: ScoreOut | None
    rank: int | None
    within_quota: bool
    decided_by: str | None
    outcome: Outcome | None
    version: int
    votes: list[VoteOut] = Field(default_factory=list)
    notes: list[NoteOut] = Field(default_factory=list)
    # Shown to administrators and the committee only: a submitter must not learn from it that
    # the national ID they typed is in the registry.
    identity_check: bool | None = None


class RankingItem(BaseModel):
    application_id: uuid.UUID
    number: str
    name: str
    community: str
    rank: int | None
    total: str
    targets_met: list[str]
    eligible: bool
    adl: float | None
    within_quota: bool
    decided_by: str | None
    outcome: Outcome | None
    votes: dict[str, int]
    my_vote: Vote | None
    possible_duplicate_of: str | None


class RankingPage(BaseModel):
    items: list[RankingItem]
    total: int
    page: int
    page_size: int
    devices: int
    cutoff_rank: int | None
    seed: str | None
    inputs_digest: str | None
    computed_at: datetime | None


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Vote
    reason: Reason


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=2000)


class AppealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=3, max_length=2000)


class AppealDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    upheld: bool
    reason: Reason
    # Corrected answers found on review; absent means the same answers are re-scored.
    answers: dict[Key, AnswerValue] | None = Field(default=None, max_length=40)


class AppealOut(BaseModel):
    id: uuid.UUID
    application_id: uuid.UUID
    number: str
    reason: str
    filed_at: datetime
    status: AppealStatus
    outcome_before: Outcome | None
    score_before: str | None
    score_after: str | None
    decision_reason: str | None
    decided_at: datetime | None


class AnnouncementItem(BaseModel):
    """Exactly what may be posted in public: nothing about health."""

    model_config = ConfigDict(extra="forbid")
    rank: int
    number: str
    name: str


class AnnouncementOut(BaseModel):
    round_id: uuid.UUID
    title: str
    issuer: str
    approving_body: str | None
    approval_reference: str | None
    approved_on: date | None
    signer_name: str | None = None
    signer_position: str | None = None
    published_at: datetime | None
    appeal_deadline: datetime | None
    items: list[AnnouncementItem]


class TaskOut(BaseModel):
    id: uuid.UUID
    elder_id: uuid.UUID
    round_id: uuid.UUID
    application_number: str
    name: str
    kind: TaskKind
    status: TaskStatus
    note: str | None
    done_by: uuid.UUID | None
    done_at: datetime | None


class TaskDoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=1000)


class AttachmentOut(BaseModel):
    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime
