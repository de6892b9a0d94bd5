"""API shapes of the elder registry, and which fields each role may read or change."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from server.auth.models import Role
from server.common import thai_id
from server.elders.models import ConsentScope, ElderStatus, Mobility, Sex

PHONE = Annotated[str, Field(min_length=3, max_length=32, pattern=r"^[0-9+()\- ]+$")]


def _national_id(value: str) -> str:
    if not thai_id.is_valid(value):
        raise ValueError("not a valid Thai national ID (13 digits with a check digit)")
    return value


def _plausible_birth(value: date) -> date:
    if not date(1900, 1, 1) <= value <= date.today():
        raise ValueError("birth date must be between 1900 and today")
    return value


# The checks every form that takes a person applies (the registry and applications alike).
NationalId = Annotated[str, Field(min_length=13, max_length=13), AfterValidator(_national_id)]
BirthDate = Annotated[date, AfterValidator(_plausible_birth)]


def adl_group(score: int | None) -> str | None:
    """Thai elderly groups by Barthel ADL (0-20): social-bound ≥12, home-bound 5-11, bed-bound 0-4."""
    if score is None:
        return None
    if score >= 12:
        return "social_bound"
    return "home_bound" if score >= 5 else "bed_bound"


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    relation: str = Field(min_length=1, max_length=64)
    phone: PHONE
    notify_on_alerts: bool = True


class ContactOut(ContactIn):
    model_config = ConfigDict(extra="ignore")
    id: uuid.UUID


class _ElderFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, max_length=32)
    phone: PHONE | None = None
    address: str = Field(min_length=1, max_length=500)
    community: str = Field(min_length=1, max_length=100)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    access_notes: str | None = Field(default=None, max_length=500)
    lives_alone: bool = False
    has_carer: bool = True
    mobility: Mobility = Mobility.INDEPENDENT
    fall_risk: bool = False
    falls_past_year: int = Field(default=0, ge=0, le=365)
    chronic_conditions: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=30
    )
    medications: str | None = Field(default=None, max_length=2000)
    allergies: str | None = Field(default=None, max_length=1000)
    adl_score: int | None = Field(default=None, ge=0, le=20)
    status: ElderStatus = ElderStatus.ENROLLED
    caregiver_id: uuid.UUID | None = None
    care_manager_id: uuid.UUID | None = None
    volunteer_id: uuid.UUID | None = None


class ElderCreate(_ElderFields):
    national_id: NationalId
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    birth_date: BirthDate
    sex: Sex
    emergency_contacts: list[ContactIn] = Field(default_factory=list, max_length=10)


class ElderUpdate(BaseModel):
    """Every field optional; `version` is the version the edit was based on."""

    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1)
    title: str | None = Field(default=None, max_length=32)
    first_name: str | None = Field(default=None, min_length=1, max_length=100)
    last_name: str | None = Field(default=None, min_length=1, max_length=100)
    birth_date: date | None = None
    sex: Sex | None = None
    phone: PHONE | None = None
    address: str | None = Field(default=None, min_length=1, max_length=500)
    community: str | None = Field(default=None, min_length=1, max_length=100)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    access_notes: str | None = Field(default=None, max_length=500)
    lives_alone: bool | None = None
    has_carer: bool | None = None
    mobility: Mobility | None = None
    fall_risk: bool | None = None
    falls_past_year: int | None = Field(default=None, ge=0, le=365)
    chronic_conditions: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = None
    medications: str | None = Field(default=None, max_length=2000)
    allergies: str | None = Field(default=None, max_length=1000)
    adl_score: int | None = Field(default=None, ge=0, le=20)
    status: ElderStatus | None = None
    caregiver_id: uuid.UUID | None = None
    care_manager_id: uuid.UUID | None = None
    volunteer_id: uuid.UUID | None = None
    emergency_contacts: list[ContactIn] | None = Field(default=None, max_length=10)


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    given_on: date
    scope: list[ConsentScope] = Field(min_length=1)
    notes: str | None = Field(default=None, max_length=500)


class ConsentOut(BaseModel):
    id: uuid.UUID
    given_on: date
    scope: list[str]
    recorded_by: uuid.UUID | None
    withdrawn_on: date | None
    notes: str | None


class ElderDevice(BaseModel):
    """A device in the elder's home as their record shows it. The devices domain owns the
    devices and fills these in (see `server.elders.service.show_devices_with`)."""

    id: uuid.UUID
    kind: str
    label: str | None = None
    model: str | None = None
    ble_address: str | None = None
    active: bool = True
    last_seen_at: datetime | None = None
    battery: int | None = None


class ElderOut(BaseModel):
    """Fields a role may not read are left out (None) and listed in `hidden_fields`."""

    id: uuid.UUID
    version: int
    national_id: str | None = None
    title: str | None = None
    first_name: str
    last_name: str
    birth_date: date | None = None
    age: int | None = None
    sex: Sex | None = None
    phone: str | None = None
    address: str | None = None
    community: str
    latitude: float | None = None
    longitude: float | None = None
    access_notes: str | None = None
    lives_alone: bool | None = None
    has_carer: bool | None = None
    mobility: Mobility | None = None
    fall_risk: bool | None = None
    falls_past_year: int | None = None
    chronic_conditions: list[str] | None = None
    medications: str | None = None
    allergies: str | None = None
    adl_score: int | None = None
    adl_group: str | None = None
    status: ElderStatus
    caregiver_id: uuid.UUID | None = None
    care_manager_id: uuid.UUID | None = None
    volunteer_id: uuid.UUID | None = None
    emergency_contacts: list[ContactOut] | None = None
    consents: list[ConsentOut] | None = None
    devices: list[ElderDevice] | None = None
    hidden_fields: list[str] = Field(default_factory=list)


class ElderListItem(BaseModel):
    id: uuid.UUID
    first_name: str
    last_name: str
    age: int
    community: str
    status: ElderStatus
    lives_alone: bool
    has_carer: bool
    adl_group: str | None
    caregiver_id: uuid.UUID | None


class ElderPage(BaseModel):
    items: list[ElderListItem]
    total: int
    page: int
    page_size: int


# --- who may read and change what ---------------------------------------------------

# Health fields: reading them is what the audit log must always show.
HEALTH_FIELDS = frozenset(
    {"chronic_conditions", "medications", "allergies", "adl_score", "adl_group", "mobility",
     "fall_risk", "falls_past_year"}
)  # fmt: skip
IDENTITY_FIELDS = frozenset({"national_id", "birth_date", "consents", "devices"})
VOLUNTEER_EDITABLE = frozenset(
    {"phone", "address", "community", "latitude", "longitude", "access_notes", "lives_alone",
     "has_carer", "emergency_contacts"}
)  # fmt: skip
CAREGIVER_EDITABLE = VOLUNTEER_EDITABLE | {
    "mobility", "fall_risk", "falls_past_year", "adl_score", "medications", "allergies",
}  # fmt: skip
ALL_EDITABLE = frozenset(ElderUpdate.model_fields) - {"version"}

# Roles that see every elder. Caregivers and volunteers see those assigned to them; a
# clinician (telehealth) sees those whose care team has asked them a question: their work
# starts with a consultation, and the registry's other elders are none of theirs (PDPA).
SEES_ALL = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.DISPATCHER, Role.CARE_MANAGER})
SEES_ASSIGNED = frozenset({Role.CAREGIVER, Role.VOLUNTEER, Role.CLINICIAN})
CAN_CREATE = frozenset({Role.ADMIN, Role.CARE_MANAGER})
EDITABLE_BY: dict[Role, frozenset[str]] = {
    Role.ADMIN: ALL_EDITABLE,
    Role.CARE_MANAGER: ALL_EDITABLE,
    Role.CAREGIVER: frozenset(CAREGIVER_EDITABLE),
    Role.VOLUNTEER: VOLUNTEER_EDITABLE,
}
# A volunteer looks after contact and living situation, not medicines or identity documents.
# Volunteers get nothing clinical at all (the mission: they update contact and living data).
HIDDEN_FROM: dict[Role, frozenset[str]] = {
    Role.VOLUNTEER: HEALTH_FIELDS | {"national_id", "consents", "devices"},
    Role.DISPATCHER: frozenset({"consents"}),
}
# Dispatchers search the registry to find who is calling: identity and location only. Their
# clinical view opens with an emergency (server/alerts/access.py).
LIST_WITHOUT_HEALTH = frozenset({Role.VOLUNTEER, Role.DISPATCHER})
