"""Telehealth consultations: a caregiver or care manager asks, a clinician answers.

requested → in_review → answered → closed. An answer may carry advice (text, and voice notes
uploaded to the consultation), new personal targets for the care plan, and a follow-up: an
urgent visit or an alert on the emergency path.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

import triage
from server.audit import service as audit
from server.auth.models import Role, User
from server.care import reviews
from server.care.access import elder_for
from server.care.alerting import raise_vitals_alert
from server.care.care_plans import apply_targets, plan_for_elder
from server.care.models import (
    Consult,
    ConsultStatus,
    ConsultUrgency,
    ReviewKind,
    Visit,
    VoiceNote,
    VoicePurpose,
)
from server.care.schemas import ConsultAnswer, ConsultCreate, ConsultOut
from server.care.seq import next_seq
from server.care.visits import urgent_visit
from server.common.time import utcnow
from server.elders import service as elders
from server.errors import ApiError
from server.observations.models import Observation

URGENCY_RANK = {ConsultUrgency.URGENT: 0, ConsultUrgency.SOON: 1, ConsultUrgency.ROUTINE: 2}
STATUS_RANK = {
    ConsultStatus.REQUESTED: 0,
    ConsultStatus.IN_REVIEW: 1,
    ConsultStatus.ANSWERED: 2,
    ConsultStatus.CLOSED: 3,
}
URGENT_VISIT_WITHIN = timedelta(hours=24)
# How long a question may wait for a clinician before the care manager is told: an urgent
# one within the shift, a soon one within the day, a routine one within three days.
ANSWER_WITHIN = {
    ConsultUrgency.URGENT: timedelta(hours=2),
    ConsultUrgency.SOON: timedelta(hours=24),
    ConsultUrgency.ROUTINE: timedelta(hours=72),
}
OPEN = (ConsultStatus.REQUESTED, ConsultStatus.IN_REVIEW)


def answer_due_by(consult: Consult) -> datetime:
    return consult.created_at + ANSWER_WITHIN[consult.urgency]


def is_overdue(consult: Consult, now: datetime) -> bool:
    """Still waiting for a clinician after its urgency's time."""
    return consult.status in OPEN and now > answer_due_by(consult)


def overdue_clause(now: datetime) -> sa.ColumnElement[bool]:
    """`is_overdue` as SQL, for the care manager's list of late questions."""
    late = [
        sa.and_(col(Consult.urgency) == urgency, col(Consult.created_at) < now - within)
        for urgency, within in ANSWER_WITHIN.items()
    ]
    return sa.and_(col(Consult.status).in_(OPEN), sa.or_(*late))


def consult_out(session: Session, consult: Consult, now: datetime | None = None) -> ConsultOut:
    [out] = consults_out(session, [consult], now)
    return out


def consults_out(
    session: Session, consults: Sequence[Consult], now: datetime | None = None
) -> list[ConsultOut]:
    """Several consultations, their voice notes read in one query for all of them."""
    if not consults:
        return []
    voice: dict[uuid.UUID, list[uuid.UUID]] = {}
    for consult_id, voice_id in session.exec(
        select(VoiceNote.consult_id, VoiceNote.id)
        .where(col(VoiceNote.consult_id).in_([c.id for c in consults]))
        .order_by(col(VoiceNote.recorded_at))
    ).all():
        if consult_id is not None:
            voice.setdefault(consult_id, []).append(voice_id)
    at = now or utcnow()
    return [
        ConsultOut.model_validate(
            {
                **consult.model_dump(),
                "voice_note_ids": voice.get(consult.id, []),
                "answer_due_by": answer_due_by(consult),
                "overdue": is_overdue(consult, at),
            }
        )
        for consult in consults
    ]


def _touch(session: Session, consult: Consult) -> None:
    consult.version += 1
    consult.updated_at = utcnow()
    consult.seq = next_seq(session)
    session.add(consult)


def create_consult(
    session: Session, *, user: User, data: ConsultCreate, request_id: str | None
) -> tuple[Consult, bool]:
    """Idempotent on the client's id. Adds to the session; the caller commits."""
    elder = elder_for(session, user=user, elder_id=data.elder_id)
    if data.id is not None:
        existing = session.get(Consult, data.id)
        if existing is not None:
            if existing.elder_id != elder.id:
                raise ApiError(409, "id_in_use", "common.id_in_use", field="id")
            return existing, False
    for obs_id in data.observation_ids:
        observation = session.get(Observation, obs_id)
        if observation is None or observation.elder_id != elder.id:
            raise ApiError(
                422, "unknown_observation", "telehealth.unknown_observation",
                field="observation_ids", id=str(obs_id),
            )  # fmt: skip
    if data.visit_id is not None:
        visit = session.get(Visit, data.visit_id)
        if visit is None or visit.elder_id != elder.id:
            raise ApiError(422, "visit_of_other_elder", "care.visit_of_other_elder")
    consult = Consult(
        id=data.id or uuid.uuid4(),
        elder_id=elder.id,
        requested_by=user.id,
        visit_id=data.visit_id,
        question=data.question,
        urgency=data.urgency,
        urgency_rank=URGENCY_RANK[data.urgency],
        observation_ids=[str(o) for o in data.observation_ids],
        seq=next_seq(session),
    )
    session.add(consult)
    audit.record(
        session, actor=user, action="create", entity="consult", entity_id=consult.id,
        elder_id=elder.id, fields=sorted(data.model_fields_set), request_id=request_id,
    )  # fmt: skip
    return consult, True


def list_consults(
    session: Session,
    *,
    user: User,
    status: ConsultStatus | None,
    elder_id: uuid.UUID | None,
    limit: int,
    request_id: str | None,
    overdue: bool | None = None,
) -> list[ConsultOut]:
    """Clinicians get the queue: open first, most urgent first, oldest first.
    `overdue=True` is the care manager's list of questions waiting past their time."""
    now = utcnow()
    query = select(Consult)
    # A clinician sees every elder a question was asked about: no list of ids to send along.
    visible = None if user.role == Role.CLINICIAN else elders.visible_elder_ids(session, user)
    if visible is not None:
        query = query.where(col(Consult.elder_id).in_(visible))
    if status is not None:
        query = query.where(Consult.status == status)
    elif user.role == Role.CLINICIAN:
        query = query.where(
            col(Consult.status).in_([ConsultStatus.REQUESTED, ConsultStatus.IN_REVIEW])
        )
    if elder_id is not None:
        query = query.where(Consult.elder_id == elder_id)
    if overdue is True:
        query = query.where(overdue_clause(now))
    elif overdue is False:
        query = query.where(sa.not_(overdue_clause(now)))
    rows = list(
        session.exec(
            query.order_by(col(Consult.urgency_rank), col(Consult.created_at)).limit(limit)
        ).all()
    )
    rows.sort(key=lambda c: (STATUS_RANK[c.status], c.urgency_rank, c.created_at))
    audit.record_reads(
        session, actor=user, entity="consult", elder_ids=sorted({c.elder_id for c in rows}),
        fields=["consult"], request_id=request_id,
    )  # fmt: skip
    return [consult_out(session, c, now) for c in rows]


def get_consult(session: Session, *, user: User, consult_id: uuid.UUID) -> Consult:
    consult = session.get(Consult, consult_id)
    if consult is None:
        raise ApiError(404, "not_found", "common.not_found")
    elder_for(session, user=user, elder_id=consult.elder_id)
    return consult


def read_consult(
    session: Session, *, user: User, consult_id: uuid.UUID, request_id: str | None
) -> ConsultOut:
    consult = get_consult(session, user=user, consult_id=consult_id)
    audit.record_reads(
        session, actor=user, entity="consult", elder_ids=[consult.elder_id],
        fields=["consult", "observations"], request_id=request_id,
    )  # fmt: skip
    return consult_out(session, consult)


def start_review(
    session: Session, *, user: User, consult_id: uuid.UUID, request_id: str | None
) -> Consult:
    """A clinician has opened the question: requested → in_review, once. Opening it again, or
    a second clinician opening it, changes nothing (no new version for tablets to pull, no
    second audit entry); the first to open it stays its clinician."""
    consult = get_consult(session, user=user, consult_id=consult_id)
    if consult.status == ConsultStatus.IN_REVIEW:
        return consult
    if consult.status != ConsultStatus.REQUESTED:
        raise _bad_transition(consult, ConsultStatus.IN_REVIEW)
    # Conditional on the row still being requested at the version read: two clinicians
    # opening it at once make one change, and an answer that got in first is not undone.
    result = session.execute(
        sa.update(Consult)
        .where(
            col(Consult.id) == consult.id,
            col(Consult.status) == ConsultStatus.REQUESTED,
            col(Consult.version) == consult.version,
        )
        .values(
            status=ConsultStatus.IN_REVIEW, clinician_id=user.id,
            version=col(Consult.version) + 1, updated_at=utcnow(), seq=next_seq(session),
        )
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    session.refresh(consult)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        # Someone else moved it meanwhile: read afresh (the check above no longer holds).
        if ConsultStatus(consult.status) == ConsultStatus.IN_REVIEW:
            return consult
        raise _bad_transition(consult, ConsultStatus.IN_REVIEW)
    audit.record(
        session, actor=user, action="update", entity="consult", entity_id=consult.id,
        elder_id=consult.elder_id, fields=["status", "clinician_id"], request_id=request_id,
    )  # fmt: skip
    session.flush()
    return consult


def _bad_transition(consult: Consult, wanted: ConsultStatus) -> ApiError:
    return ApiError(
        409, "invalid_transition", "common.invalid_transition", field="status",
        current=consult.status.value, wanted=wanted.value,
    )  # fmt: skip


def answer(
    session: Session,
    *,
    user: User,
    consult_id: uuid.UUID,
    data: ConsultAnswer,
    request_id: str | None,
) -> Consult:
    consult = get_consult(session, user=user, consult_id=consult_id)
    if consult.status not in (ConsultStatus.REQUESTED, ConsultStatus.IN_REVIEW):
        raise _bad_transition(consult, ConsultStatus.ANSWERED)
    if data.version != consult.version:
        audit.record_conflict_read(
            session, actor=user, entity="consult", elder_id=consult.elder_id,
            request_id=request_id,
        )  # fmt: skip
        raise ApiError(
            409, "stale_version", "common.stale_version", field="version",
            extra={"current": consult_out(session, consult).model_dump(mode="json")},
        )  # fmt: skip
    elder = elder_for(session, user=user, elder_id=consult.elder_id)
    outcome = dict(consult.outcome)
    if data.voice_note_ids:
        outcome["advice_voice_note_ids"] = _spoken_advice(
            session, user=user, consult=consult, note_ids=data.voice_note_ids
        )
    if "targets" in data.model_fields_set:
        plan = plan_for_elder(session, elder.id)
        if plan is None:
            raise ApiError(422, "no_care_plan", "care.no_care_plan", field="targets")
        apply_targets(session, plan=plan, targets=data.targets, user=user, request_id=request_id)
        outcome["targets_changed"] = True
        outcome["care_plan_version"] = plan.version
    if data.follow_up == "urgent_visit":
        visit = urgent_visit(
            session, elder=elder, user=user, due_by=utcnow() + URGENT_VISIT_WITHIN,
            note=data.advice,
        )  # fmt: skip
        outcome["urgent_visit_id"] = str(visit.id)
    elif data.follow_up == "alert":
        raised = raise_vitals_alert(
            session, elder_id=elder.id, priority=triage.Priority.RED,
            reasons=[triage.Reason(key="telehealth.reason.clinician_alert")],
            observation_id=(
                uuid.UUID(consult.observation_ids[0]) if consult.observation_ids else None
            ),
            occurred_at=utcnow(),
        )  # fmt: skip
        item = reviews.flag(
            session, kind=ReviewKind.CRITICAL_READING, elder_id=elder.id, entity="consult",
            entity_id=consult.id, priority=triage.Priority.RED.value, raised_by=user,
            detail={"alert": raised.status,
                    "alert_id": str(raised.alert_id) if raised.alert_id else None},
        )  # fmt: skip
        outcome["alert"] = raised.status
        outcome["alert_id"] = str(raised.alert_id) if raised.alert_id else None
        outcome["review_id"] = str(item.id)
    consult.advice = data.advice
    consult.status = ConsultStatus.ANSWERED
    consult.clinician_id = user.id
    consult.answered_at = utcnow()
    consult.outcome = outcome
    _touch(session, consult)
    audit.record(
        session, actor=user, action="answer", entity="consult", entity_id=consult.id,
        elder_id=elder.id, fields=sorted(data.model_fields_set - {"version"}),
        request_id=request_id,
    )  # fmt: skip
    session.flush()
    return consult


def _spoken_advice(
    session: Session, *, user: User, consult: Consult, note_ids: list[uuid.UUID]
) -> list[str]:
    """The answer's voice notes: this clinician's advice, uploaded to this consultation."""
    for note_id in note_ids:
        note = session.get(VoiceNote, note_id)
        if (
            note is None
            or note.consult_id != consult.id
            or note.purpose != VoicePurpose.ADVICE
            or note.author_id != user.id
            or not note.stored
        ):
            raise ApiError(
                422, "unknown_voice_note", "clinician.unknown_voice_note",
                field="voice_note_ids", id=str(note_id),
            )  # fmt: skip
    return [str(n) for n in note_ids]


def close(
    session: Session, *, user: User, consult_id: uuid.UUID, request_id: str | None
) -> Consult:
    consult = get_consult(session, user=user, consult_id=consult_id)
    if consult.status == ConsultStatus.CLOSED:
        return consult
    consult.status = ConsultStatus.CLOSED
    consult.closed_at = utcnow()
    _touch(session, consult)
    audit.record(
        session, actor=user, action="close", entity="consult", entity_id=consult.id,
        elder_id=consult.elder_id, fields=["status"], request_id=request_id,
    )  # fmt: skip
    session.flush()
    return consult
