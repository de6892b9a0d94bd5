"""An elder's readings over time, by kind and period, with each observation's triage result:
the tablet's charts and the care manager's review."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col

from server.audit import service as audit
from server.auth.models import User
from server.care.access import elder_for
from server.care.schemas import HistoryObservation, HistoryOut, HistoryPointOut
from server.observations.models import Observation, ObservationValue

# Kinds a person asks for, and the measurement codes each one means.
KINDS: dict[str, tuple[str, ...]] = {
    "blood_pressure": ("systolic", "diastolic"),
    "systolic": ("systolic",),
    "diastolic": ("diastolic",),
    "pulse": ("pulse",),
    "spo2": ("spo2",),
    "glucose": ("glucose",),
    "temperature": ("temperature",),
    "respiration_rate": ("respiration_rate",),
}
MAX_POINTS = 20_000


def codes_for(kinds: Sequence[str]) -> list[str]:
    codes: list[str] = []
    for kind in kinds:
        codes.extend(c for c in KINDS[kind] if c not in codes)
    return codes


def elder_history(
    session: Session,
    *,
    user: User,
    elder_id: uuid.UUID,
    kinds: Sequence[str] = (),
    since: datetime | None = None,
    until: datetime | None = None,
    request_id: str | None = None,
) -> HistoryOut:
    """Plain column queries (no ORM objects, no full triage documents): a year of daily
    readings is a few thousand rows, and the tablet's chart must not wait for them."""
    elder = elder_for(session, user=user, elder_id=elder_id)
    codes = codes_for(kinds)
    values = sa.select(
        col(ObservationValue.observation_id), col(ObservationValue.observed_at),
        col(ObservationValue.code), col(ObservationValue.value), col(ObservationValue.unit),
    ).where(col(ObservationValue.elder_id) == elder.id)  # fmt: skip
    triage_doc = col(Observation.triage)
    observations_q = sa.select(
        col(Observation.id), col(Observation.observed_at), col(Observation.source),
        col(Observation.visit_id), col(Observation.priority),
        triage_doc["news2"]["total"].as_integer(),
        triage_doc["news2"]["partial"].as_boolean(),
        # Reasons only where triage raised something: the rest have nothing to explain.
        sa.case((col(Observation.priority).is_not(None), triage_doc["reasons"]), else_=None),
    ).where(col(Observation.elder_id) == elder.id)  # fmt: skip
    if codes:
        values = values.where(col(ObservationValue.code).in_(codes))
    if since:
        values = values.where(col(ObservationValue.observed_at) >= since)
        observations_q = observations_q.where(col(Observation.observed_at) >= since)
    if until:
        values = values.where(col(ObservationValue.observed_at) < until)
        observations_q = observations_q.where(col(Observation.observed_at) < until)
    points = [
        HistoryPointOut(observation_id=o, observed_at=t, code=c, value=v, unit=u)
        for o, t, c, v, u in session.execute(
            values.order_by(col(ObservationValue.observed_at)).limit(MAX_POINTS)
        ).all()
    ]
    wanted = {p.observation_id for p in points}
    summaries: list[HistoryObservation] = []
    for obs_id, observed_at, source, visit_id, priority, news2, partial, reasons in session.execute(
        observations_q.order_by(col(Observation.observed_at))
    ).all():
        if codes and obs_id not in wanted:
            continue
        if isinstance(reasons, str):  # some drivers hand back the JSON text
            reasons = json.loads(reasons)
        summaries.append(
            HistoryObservation(
                id=obs_id,
                observed_at=observed_at,
                source=str(source),
                visit_id=visit_id,
                priority=priority,
                news2=news2,
                news2_partial=True if partial is None else bool(partial),
                reasons=[str(r.get("key")) for r in reasons or []],
            )
        )
    audit.record(
        session, actor=user, action="read", entity="observations", elder_id=elder.id,
        fields=codes or ["all"], request_id=request_id, detail={"count": len(points)},
    )  # fmt: skip
    return HistoryOut(elder_id=elder.id, points=points, observations=summaries)
