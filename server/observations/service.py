"""Recording readings (idempotently, triaged) and reading an elder's history (audited)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

import triage
from server.audit import service as audit
from server.auth.models import User
from server.common.time import utcnow
from server.elders.models import Elder
from server.elders.service import age_on
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
    assessment = triage.assess_vitals(
        readings=triage_input(readings),
        profile=profile_for(elder),
        overrides=overrides_for(session, elder.id),
        on_oxygen=on_oxygen,
        consciousness=consciousness,
    )
    observation = Observation(
        id=observation_id or uuid.uuid4(),
        elder_id=elder.id,
        source=source,
        observed_at=observed_at,
        recorded_by=recorded_by.id if recorded_by else None,
        device_id=device_id,
        visit_id=visit_id,
        device_time=device_time,
        device_clock_suspect=device_clock_suspect,
        raw_hex=raw_hex,
        on_oxygen=on_oxygen,
        consciousness=consciousness,
        priority=assessment.priority.value if assessment.priority else None,
        triage=assessment.model_dump(mode="json"),
        rule_set_version=assessment.rule_set_version,
    )
    session.add(observation)
    for r in readings:
        session.add(
            ObservationValue(
                observation_id=observation.id,
                elder_id=elder.id,
                observed_at=observed_at,
                code=r.code,
                value=r.value,
                unit=r.unit,
            )
        )
    return Recorded(observation=observation, assessment=assessment, created=True)


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
    session.commit()
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
