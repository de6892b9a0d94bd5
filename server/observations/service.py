"""Recording readings (idempotently, triaged) and reading an elder's history (audited)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from pydantic_core import to_json
from sqlalchemy.dialects import sqlite
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
    row = _observation_row(item, assessment) | {"triage": assessment.model_dump(mode="json")}
    observation = Observation.model_validate(row)
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


def assess_many(
    session: Session, items: Sequence[NewObservation]
) -> dict[uuid.UUID, triage.VitalsAssessment]:
    """Triage of reading sets before they are stored (one query for the elders' targets),
    keyed by observation id: for a caller that acts on the results first (a RED reading
    goes ahead of the rest) and then hands them to `record_observations`."""
    targets = targets_for(session, {i.elder.id for i in items})
    return {i.observation_id: _assess(i, targets.get(i.elder.id)) for i in items}


def assess_readings(
    session: Session,
    items: Sequence[NewObservation],
    *,
    yield_to: Callable[[], bool] = lambda: False,
) -> dict[uuid.UUID, triage.VitalsAssessment]:
    """Triage of a prefix of `items` (all of them unless `yield_to()` says stop between
    steps of `TRIAGE_STEP`), keyed by observation id in order, for `record_observations`.
    Reads the elders' targets only; writes nothing, so it can run before the caller takes
    its turn to write."""
    if not items:
        return {}
    targets = targets_for(session, {i.elder.id for i in items})
    assessed: dict[uuid.UUID, triage.VitalsAssessment] = {}
    for start in range(0, len(items), TRIAGE_STEP):
        if start and yield_to():
            break
        for item in items[start : start + TRIAGE_STEP]:
            assessed[item.observation_id] = _assess(item, targets.get(item.elder.id))
    return assessed


def record_observations(
    session: Session,
    items: Sequence[NewObservation],
    *,
    yield_to: Callable[[], bool] = lambda: False,
    assessments: Mapping[uuid.UUID, triage.VitalsAssessment] | None = None,
) -> list[RecordedMany]:
    """`record_observation` for many reading sets at once (a hub's queued readings).

    Triage runs first, in steps of `TRIAGE_STEP`; when `yield_to()` says so between steps,
    only what is triaged so far is stored and the results cover that prefix of `items`.
    Then the reading sets are stored in one statement per table (one in all on
    PostgreSQL); a re-sent id is stored once and returns its first triage. Adds to the
    transaction; the caller commits. `assessments` (from `assess_many`) are used as given.
    """
    if not items:
        return []
    given = assessments or {}
    targets = (
        {} if all(i.observation_id in given for i in items)
        else targets_for(session, {i.elder.id for i in items})
    )  # fmt: skip
    chosen: list[NewObservation] = []
    assessed: dict[uuid.UUID, triage.VitalsAssessment] = {}
    for start in range(0, len(items), TRIAGE_STEP):
        if start and yield_to():
            break
        for item in items[start : start + TRIAGE_STEP]:
            chosen.append(item)
            oid = item.observation_id
            if oid not in assessed:
                assessed[oid] = given.get(oid) or _assess(item, targets.get(item.elder.id))
    firsts: dict[uuid.UUID, int] = {}  # each id's first place in the batch
    for index, item in enumerate(chosen):
        firsts.setdefault(item.observation_id, index)
    created = _insert(session, [(chosen[i], assessed[oid]) for oid, i in firsts.items()])
    earlier = [oid for oid in firsts if oid not in created]
    if earlier:
        for oid, stored in session.execute(
            sa.select(col(Observation.id), col(Observation.triage)).where(
                col(Observation.id).in_(earlier)
            )
        ).all():
            assessed[oid] = triage.VitalsAssessment.model_validate(stored)
    results: list[RecordedMany] = []
    for index, item in enumerate(chosen):
        oid = item.observation_id
        new = oid in created and firsts[oid] == index
        results.append(RecordedMany(oid, assessed[oid], created=new))
    return results


# Readings triaged between two looks at `yield_to`.
TRIAGE_STEP = 25

# Parsed personal targets per elder, keyed by when they were set: a care plan or clinician
# changing them writes a new `set_at` (`set_overrides`), which misses here in every
# process. The row is still read once per batch (a cheap primary-key lookup); parsing and
# validating the targets was the part worth keeping.
_TARGETS: dict[uuid.UUID, tuple[datetime, triage.Overrides | None]] = {}
_TARGETS_MAX = 100_000


def targets_for(
    session: Session, elder_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, triage.Overrides]:
    """The personal targets in force for these elders (elders without any are left out)."""
    if not elder_ids:
        return {}
    found: dict[uuid.UUID, triage.Overrides] = {}
    rows = session.execute(
        sa.select(
            col(TriageOverrides.elder_id),
            col(TriageOverrides.set_at),
            col(TriageOverrides.overrides),
        ).where(col(TriageOverrides.elder_id).in_(list(elder_ids)))
    ).all()
    for elder_id, set_at, raw in rows:
        cached = _TARGETS.get(elder_id)
        if cached is None or cached[0] != set_at:
            if len(_TARGETS) >= _TARGETS_MAX:
                _TARGETS.clear()
            cached = (set_at, triage.Overrides.model_validate(raw) if raw else None)
            _TARGETS[elder_id] = cached
        if cached[1] is not None:
            found[elder_id] = cached[1]
    return found


_OBSERVATION_COLUMNS = (
    "id", "elder_id", "source", "observed_at", "recorded_at", "recorded_by", "device_id",
    "visit_id", "device_time", "device_clock_suspect", "raw_hex", "on_oxygen", "consciousness",
    "priority", "triage", "rule_set_version",
)  # fmt: skip
# On PostgreSQL one statement stores a batch: the reading sets and their values travel as
# two JSON parameters that PostgreSQL unpacks, and only the values of sets it inserted are
# stored. The driver parses one short statement whatever the batch size.
_PG_INSERT = sa.text(
    """
    WITH stored AS (
        INSERT INTO observations (id, elder_id, source, observed_at, recorded_at, recorded_by,
            device_id, visit_id, device_time, device_clock_suspect, raw_hex, on_oxygen,
            consciousness, priority, triage, rule_set_version)
        SELECT o.id, o.elder_id, o.source, o.observed_at, o.recorded_at, o.recorded_by,
            o.device_id, o.visit_id, o.device_time, o.device_clock_suspect, o.raw_hex,
            o.on_oxygen, o.consciousness, o.priority, o.triage, o.rule_set_version
        FROM json_to_recordset(CAST(:observations AS json)) AS o(id uuid, elder_id uuid,
            source text, observed_at timestamptz, recorded_at timestamptz, recorded_by uuid,
            device_id uuid, visit_id uuid, device_time timestamptz, device_clock_suspect boolean,
            raw_hex text, on_oxygen boolean, consciousness text, priority text, triage json,
            rule_set_version text)
        ON CONFLICT (id) DO NOTHING
        RETURNING id
    ), stored_values AS (
        INSERT INTO observation_values (observation_id, elder_id, observed_at, code, value, unit)
        SELECT v.observation_id, v.elder_id, v.observed_at, v.code, v.value, v.unit
        FROM json_to_recordset(CAST(:values AS json)) AS v(observation_id uuid, elder_id uuid,
            observed_at timestamptz, code text, value double precision, unit text)
        WHERE v.observation_id IN (SELECT id FROM stored)
    )
    SELECT id FROM stored
    """
)


def _insert(
    session: Session, items: Sequence[tuple[NewObservation, triage.VitalsAssessment]]
) -> set[uuid.UUID]:
    """Inserts the reading sets whose id is not stored yet; returns the ids inserted."""
    if not items:
        return set()
    connection = session.connection()
    observations = [_observation_row(item, assessment) for item, assessment in items]
    dialect = connection.dialect.name
    if dialect == "postgresql":
        values = [row for item, _ in items for row in _value_rows(item)]
        params = {
            "observations": to_json(observations).decode(),
            "values": to_json(values).decode(),
        }
        return set(connection.execute(_PG_INSERT, params).scalars())
    if dialect != "sqlite":
        raise RuntimeError(f"observations support SQLite and PostgreSQL, not {dialect}")
    # Core, not the ORM: executemany of one prepared statement per table. The triage goes
    # in as the JSON text pydantic writes (serialising it twice was a third of the cost).
    table: sa.Table = Observation.__table__  # type: ignore[attr-defined]
    statement = (
        sqlite.insert(table)
        .values(triage=sa.bindparam("triage_json", type_=sa.Text()))
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(table.c.id)
    )
    rows = [
        {k: v for k, v in row.items() if k != "triage"}
        | {"triage_json": assessment.model_dump_json()}
        for row, (_, assessment) in zip(observations, items, strict=True)
    ]
    created = set(connection.execute(statement, rows).scalars())
    values = [
        row for item, _ in items if item.observation_id in created for row in _value_rows(item)
    ]
    if values:
        connection.execute(sa.insert(ObservationValue.__table__), values)  # type: ignore[attr-defined]
    return created


def _assess(item: NewObservation, overrides: triage.Overrides | None) -> triage.VitalsAssessment:
    return triage.assess_vitals(
        readings=triage_input(item.readings),
        # No profile: no vital-sign rule uses it (it orders alerts), and building one per
        # reading was a measurable part of the cost.
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
        "source": ObservationSource(item.source).value,
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
        "triage": assessment,
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
