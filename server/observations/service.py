"""Recording readings (idempotently, triaged) and reading an elder's history (audited)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

import triage
from server.audit import service as audit
from server.auth.models import User
from server.common.time import utcnow
from server.elders.models import Elder
from server.elders.service import age_on
from server.observations.config import triage_settings
from server.observations.models import (
    Observation,
    ObservationSource,
    ObservationValue,
    TriageOverrides,
)


@dataclass(frozen=True)
class Reading:
    code: str  # a measurement code of the wire protocol: systolic, spo2, glucose, ...
    value: float
    unit: str


# Triage judges glucose in mg/dL; readings keep the unit they were taken in.
_MMOL_TO_MG = 18.0182


def profile_for(elder: Elder) -> triage.ElderProfile:
    return triage.ElderProfile(
        lives_alone=elder.lives_alone,
        has_carer=elder.has_carer,
        adl_score=elder.adl_score,
        fall_risk=elder.fall_risk,
        chronic_conditions=tuple(elder.chronic_conditions or ()),
        age=age_on(elder.birth_date),
    )


def overrides_for(session: Session, elder_id: uuid.UUID) -> triage.Overrides | None:
    row = session.get(TriageOverrides, elder_id)
    return triage.Overrides.model_validate(row.overrides) if row and row.overrides else None


def set_overrides(
    session: Session,
    *,
    elder_id: uuid.UUID,
    overrides: triage.Overrides | None,
    actor: User | None,
    request_id: str | None = None,
) -> None:
    """Called when a care plan or a clinician changes an elder's personal targets."""
    row = session.get(TriageOverrides, elder_id) or TriageOverrides(elder_id=elder_id)
    row.overrides = overrides.model_dump(mode="json", exclude_none=True) if overrides else {}
    row.set_by = actor.id if actor else None
    row.set_at = utcnow()
    session.add(row)
    audit.record(
        session, actor=actor, action="update", entity="triage_overrides", entity_id=elder_id,
        elder_id=elder_id, fields=sorted(row.overrides), request_id=request_id,
    )  # fmt: skip


def triage_input(readings: Sequence[Reading]) -> dict[str, float]:
    values: dict[str, float] = {}
    for r in readings:
        value = r.value * _MMOL_TO_MG if r.code == "glucose" and r.unit == "mmol/L" else r.value
        values[r.code] = value
    return values


@dataclass(frozen=True)
class Recorded:
    observation: Observation
    assessment: triage.VitalsAssessment
    created: bool  # False: this id was stored before (a re-sent reading)


def record_observation(
    session: Session,
    *,
    elder: Elder,
    readings: Sequence[Reading],
    source: ObservationSource,
    observed_at: datetime,
    observation_id: uuid.UUID | None = None,
    recorded_by: User | None = None,
    device_id: uuid.UUID | None = None,
    visit_id: uuid.UUID | None = None,
    device_time: datetime | None = None,
    device_clock_suspect: bool = False,
    raw_hex: str | None = None,
    on_oxygen: bool = False,
    consciousness: str | None = None,
) -> Recorded:
    """Stores a reading set with its triage. Adds to the session; the caller commits.

    Idempotent on `observation_id`: a second call with the same id returns the first record.
    """
    if observation_id is not None:
        existing = session.get(Observation, observation_id)
        if existing is not None:
            assessment = triage.VitalsAssessment.model_validate(existing.triage)
            return Recorded(observation=existing, assessment=assessment, created=False)
    item = NewObservation(
        elder=elder, readings=readings, source=source, observed_at=observed_at,
        observation_id=observation_id or uuid.uuid4(), recorded_by=recorded_by,
        device_id=device_id, visit_id=visit_id, device_time=device_time,
        device_clock_suspect=device_clock_suspect, raw_hex=raw_hex, on_oxygen=on_oxygen,
        consciousness=consciousness,
    )  # fmt: skip
    assessment = _assess(item, overrides_for(session, elder.id))
    observation = Observation.model_validate(_observation_row(item, assessment))
    session.add(observation)
    for row in _value_rows(item):
        session.add(ObservationValue.model_validate(row))
    return Recorded(observation=observation, assessment=assessment, created=True)


@dataclass(frozen=True)
class NewObservation:
    """One reading set to record (the arguments of `record_observation`)."""

    elder: Elder
    readings: Sequence[Reading]
    source: ObservationSource
    observed_at: datetime
    observation_id: uuid.UUID
    recorded_by: User | None = None
    device_id: uuid.UUID | None = None
    visit_id: uuid.UUID | None = None
    device_time: datetime | None = None
    device_clock_suspect: bool = False
    raw_hex: str | None = None
    on_oxygen: bool = False
    consciousness: str | None = None


@dataclass(frozen=True)
class RecordedMany:
    observation_id: uuid.UUID
    assessment: triage.VitalsAssessment
    created: bool


def record_observations(session: Session, items: Sequence[NewObservation]) -> list[RecordedMany]:
    """`record_observation` for many reading sets at once (a hub's queued readings).

    Looks up existing ids and personal targets in one query each and inserts the rows in
    bulk: the per-row ORM work was most of the cost. Adds to the transaction; the caller
    commits.
    """
    if not items:
        return []
    ids = [i.observation_id for i in items]
    existing = {
        observation_id: assessment
        for observation_id, assessment in session.exec(
            select(Observation.id, Observation.triage).where(col(Observation.id).in_(ids))
        ).all()
    }
    elder_ids = {i.elder.id for i in items}
    targets = {
        row.elder_id: triage.Overrides.model_validate(row.overrides)
        for row in session.exec(
            select(TriageOverrides).where(col(TriageOverrides.elder_id).in_(elder_ids))
        ).all()
        if row.overrides
    }
    results: list[RecordedMany] = []
    observations: list[dict[str, object]] = []
    values: list[dict[str, object]] = []
    for item in items:
        if item.observation_id in existing:
            assessment = triage.VitalsAssessment.model_validate(existing[item.observation_id])
            results.append(RecordedMany(item.observation_id, assessment, created=False))
            continue
        assessment = _assess(item, targets.get(item.elder.id))
        existing[item.observation_id] = {}  # the same id twice in one batch is stored once
        observations.append(_observation_row(item, assessment))
        values.extend(_value_rows(item))
        results.append(RecordedMany(item.observation_id, assessment, created=True))
    if observations:
        session.execute(sa.insert(Observation), observations)
        session.execute(sa.insert(ObservationValue), values)
    return results


def _assess(item: NewObservation, overrides: triage.Overrides | None) -> triage.VitalsAssessment:
    return triage.assess_vitals(
        readings=triage_input(item.readings),
        profile=profile_for(item.elder),
        overrides=overrides,
        on_oxygen=item.on_oxygen,
        consciousness=item.consciousness,
        bp_rules=triage_settings().blood_pressure,
    )


def _observation_row(
    item: NewObservation, assessment: triage.VitalsAssessment
) -> dict[str, object]:
    return {
        "id": item.observation_id,
        "elder_id": item.elder.id,
        "source": item.source,
        "observed_at": item.observed_at,
        "recorded_at": utcnow(),
        "recorded_by": item.recorded_by.id if item.recorded_by else None,
        "device_id": item.device_id,
        "visit_id": item.visit_id,
        "device_time": item.device_time,
        "device_clock_suspect": item.device_clock_suspect,
        "raw_hex": item.raw_hex,
        "on_oxygen": item.on_oxygen,
        "consciousness": item.consciousness,
        "priority": assessment.priority.value if assessment.priority else None,
        "triage": assessment.model_dump(mode="json"),
        "rule_set_version": assessment.rule_set_version,
    }


def _value_rows(item: NewObservation) -> list[dict[str, object]]:
    return [
        {
            "observation_id": item.observation_id,
            "elder_id": item.elder.id,
            "observed_at": item.observed_at,
            "code": r.code,
            "value": r.value,
            "unit": r.unit,
        }
        for r in item.readings
    ]


@dataclass(frozen=True)
class HistoryPoint:
    observation_id: uuid.UUID
    observed_at: datetime
    code: str
    value: float
    unit: str
    source: str
    priority: str | None


def history(
    session: Session,
    *,
    elder_id: uuid.UUID,
    actor: User,
    codes: Sequence[str] = (),
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 5000,
    request_id: str | None = None,
) -> list[HistoryPoint]:
    """An elder's readings over time (oldest first). Scoping is the caller's job; the read
    of health data is written to the audit log here, so no caller can forget it."""
    query = (
        select(ObservationValue, Observation.source, Observation.priority)
        .join(Observation, col(Observation.id) == ObservationValue.observation_id)
        .where(ObservationValue.elder_id == elder_id)
    )
    if codes:
        query = query.where(col(ObservationValue.code).in_(codes))
    if since:
        query = query.where(ObservationValue.observed_at >= since)
    if until:
        query = query.where(ObservationValue.observed_at < until)
    rows = session.exec(query.order_by(col(ObservationValue.observed_at)).limit(limit)).all()
    audit.record(
        session, actor=actor, action="read", entity="observations", elder_id=elder_id,
        fields=sorted(set(codes)) or ["all"], request_id=request_id,
        detail={"count": len(rows)},
    )  # fmt: skip
    return [
        HistoryPoint(
            observation_id=v.observation_id,
            observed_at=v.observed_at,
            code=v.code,
            value=v.value,
            unit=v.unit,
            source=str(source),
            priority=priority,
        )
        for v, source, priority in rows
    ]
