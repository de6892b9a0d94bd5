"""A consultation opened by a clinician: the question with everything it refers to.

One request for the whole case (the visit, the voice notes, the readings around the question
and the year of history for the charts, in a compact form): the page opens in one round trip.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, or_, select

from server.audit import service as audit
from server.auth.models import User
from server.care import history
from server.care.access import elder_name
from server.care.care_plans import plan_for_elder
from server.care.models import Visit, VoiceNote
from server.care.schedule import visit_out
from server.common.time import utcnow
from server.elders.models import Elder
from server.observations.models import ObservationValue
from server.telehealth.consults import consult_out, get_consult, list_consults
from server.telehealth.schemas import CaseElder, CasePlan, ConsultCase, QueueItem
from server.telehealth.voice import note_out

# The readings shown with the question: the days before it, and what came in since.
AROUND_BEFORE = timedelta(days=3)
AROUND_AFTER = timedelta(days=1)
HISTORY_DAYS = 365
# What the history charts draw (blood pressure, SpO2, pulse, glucose).
CHART_CODES = ("systolic", "diastolic", "spo2", "pulse", "glucose")


def chart_history(
    session: Session, *, elder_id: uuid.UUID, since: datetime
) -> list[tuple[int, dict[str, float]]]:
    """The readings since `since`, one entry per reading set: plain column rows, grouped in
    order (the index on elder, code and time serves it)."""
    rows = session.execute(
        sa.select(
            col(ObservationValue.observation_id), col(ObservationValue.observed_at),
            col(ObservationValue.code), col(ObservationValue.value),
        )
        .where(
            col(ObservationValue.elder_id) == elder_id,
            col(ObservationValue.code).in_(CHART_CODES),
            col(ObservationValue.observed_at) >= since,
        )
        .order_by(col(ObservationValue.observed_at))
        .limit(history.MAX_POINTS)
    ).all()  # fmt: skip
    sets: dict[uuid.UUID, tuple[int, dict[str, float]]] = {}
    for obs_id, observed_at, code, value in rows:
        entry = sets.get(obs_id)
        if entry is None:
            entry = sets[obs_id] = (int(observed_at.timestamp() * 1000), {})
        entry[1][code] = value
    return list(sets.values())


def _elder(elder: Elder) -> CaseElder:
    return CaseElder(
        id=elder.id,
        name=elder_name(elder),
        birth_date=elder.birth_date,
        sex=elder.sex.value,
        community=elder.community,
        lives_alone=elder.lives_alone,
        mobility=elder.mobility.value,
        fall_risk=elder.fall_risk,
        chronic_conditions=list(elder.chronic_conditions),
        medications=elder.medications,
        allergies=elder.allergies,
        adl_score=elder.adl_score,
    )


def open_case(
    session: Session, *, user: User, consult_id: uuid.UUID, request_id: str | None
) -> ConsultCase:
    consult = get_consult(session, user=user, consult_id=consult_id)
    elder = session.get(Elder, consult.elder_id)
    assert elder is not None  # get_consult checked the elder is visible
    plan = plan_for_elder(session, elder.id)
    visit = session.get(Visit, consult.visit_id) if consult.visit_id else None
    owners = [col(VoiceNote.consult_id) == consult.id]
    if visit is not None:
        owners.append(col(VoiceNote.visit_id) == visit.id)
    notes = session.exec(
        select(VoiceNote).where(or_(*owners)).order_by(col(VoiceNote.recorded_at))
    ).all()
    since = utcnow() - timedelta(days=HISTORY_DAYS)
    year = chart_history(session, elder_id=elder.id, since=since)
    around = history.elder_history(
        session, user=user, elder_id=elder.id, since=consult.created_at - AROUND_BEFORE,
        until=consult.created_at + AROUND_AFTER, request_id=request_id,
    )  # fmt: skip
    audit.record_reads(
        session, actor=user, entity="consult", elder_ids=[elder.id],
        fields=["consult", "elder", "care_plan", "visit", "voice_note", "observations"],
        request_id=request_id,
    )  # fmt: skip
    return ConsultCase(
        consult=consult_out(session, consult),
        elder=_elder(elder),
        plan=(
            CasePlan(id=plan.id, version=plan.version, goals=plan.goals, targets=plan.targets)
            if plan is not None
            else None
        ),
        visit=visit_out(visit) if visit is not None else None,
        voice_notes=[note_out(n) for n in notes],
        around=around,
        history_days=HISTORY_DAYS,
        history=year,
    )


def queue(session: Session, *, user: User, limit: int, request_id: str | None) -> list[QueueItem]:
    """The open questions, most urgent first and then longest waiting, with the elders'
    names (a clinician has no copy of the register on a tablet)."""
    items = list_consults(
        session, user=user, status=None, elder_id=None, limit=limit, request_id=request_id
    )
    ids = {c.elder_id for c in items}
    elders = {
        e.id: e for e in session.exec(select(Elder).where(col(Elder.id).in_(ids))).all()
    } if ids else {}  # fmt: skip
    return [
        QueueItem(
            consult=c,
            elder_name=elder_name(elders[c.elder_id]),
            community=elders[c.elder_id].community,
        )
        for c in items
    ]
