"""An elder's readings over time, by kind and period, with each observation's triage result:
the tablet's charts and the care manager's review."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col

from server.auth.models import User
from server.observations import service as observations
from server.observations.models import Observation
from server.visits.access import elder_for
from server.visits.schemas import HistoryObservation, HistoryOut, HistoryPointOut

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
    elder = elder_for(session, user=user, elder_id=elder_id)
    codes = codes_for(kinds)
    # The observations domain writes the audit row for this read.
    points = observations.history(
        session, elder_id=elder.id, actor=user, codes=codes, since=since, until=until,
        limit=MAX_POINTS, request_id=request_id,
    )  # fmt: skip
    query = sa.select(
        col(Observation.id), col(Observation.observed_at), col(Observation.source),
        col(Observation.visit_id), col(Observation.priority), col(Observation.triage),
    ).where(col(Observation.elder_id) == elder.id)  # fmt: skip
    if since:
        query = query.where(col(Observation.observed_at) >= since)
    if until:
        query = query.where(col(Observation.observed_at) < until)
    wanted = {p.observation_id for p in points}
    summaries: list[HistoryObservation] = []
    for obs_id, observed_at, source, visit_id, priority, result in session.execute(
        query.order_by(col(Observation.observed_at))
    ).all():
        if codes and obs_id not in wanted:
            continue
        news2 = (result or {}).get("news2") or {}
        summaries.append(
            HistoryObservation(
                id=obs_id,
                observed_at=observed_at,
                source=str(source),
                visit_id=visit_id,
                priority=priority,
                news2=news2.get("total"),
                news2_partial=bool(news2.get("partial", True)),
                reasons=[str(r.get("key")) for r in (result or {}).get("reasons", [])],
            )
        )
    return HistoryOut(
        elder_id=elder.id,
        points=[
            HistoryPointOut(
                observation_id=p.observation_id,
                observed_at=p.observed_at,
                code=p.code,
                value=p.value,
                unit=p.unit,
            )
            for p in points
        ],
        observations=summaries,
    )
