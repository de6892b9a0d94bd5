"""Recording a satisfaction survey after a resolved alert or a completed visit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from server.alerts.models import Alert, AlertStatus
from server.audit import service as audit
from server.auth.models import Role, User
from server.care.models import Visit, VisitStatus
from server.common.time import as_utc, utcnow
from server.elders.models import Elder, EmergencyContact
from server.elders.service import can_see, display_name, visible_elder_ids
from server.reports.models import SatisfactionSurvey, SurveyContext
from server.reports.schemas import SurveyIn

ALERT_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.DISPATCHER})
VISIT_ROLES = frozenset(
    {Role.ADMIN, Role.SUPERVISOR, Role.CARE_MANAGER, Role.CAREGIVER, Role.VOLUNTEER, Role.CLINICIAN}
)
SURVEY_ROLES = tuple(sorted(ALERT_ROLES | VISIT_ROLES))
# An alert is asked about once help has come and gone.
SURVEYED_ALERT_STATUSES = frozenset({AlertStatus.RESOLVED, AlertStatus.TRANSPORTED})


class SurveyError(Exception):
    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code


def _subject_elder(
    session: Session, *, context: SurveyContext, subject_id: uuid.UUID, actor: User | None
) -> uuid.UUID:
    """The elder an alert or visit is about, once it may be asked about (and by this person)."""
    if context == SurveyContext.ALERT:
        if actor is not None and actor.role not in ALERT_ROLES:
            raise SurveyError(403, "forbidden")
        alert = session.get(Alert, subject_id)
        if alert is None:
            raise SurveyError(404, "unknown_subject")
        if alert.test or alert.status not in SURVEYED_ALERT_STATUSES:
            raise SurveyError(409, "alert_not_resolved")
        return alert.elder_id
    if actor is not None and actor.role not in VISIT_ROLES:
        raise SurveyError(403, "forbidden")
    visit = session.get(Visit, subject_id)
    if visit is None:
        raise SurveyError(404, "unknown_subject")
    elder = session.get(Elder, visit.elder_id)
    if elder is None or (actor is not None and not can_see(actor, elder)):
        raise SurveyError(404, "unknown_subject")
    if visit.status != VisitStatus.COMPLETED:
        raise SurveyError(409, "visit_not_completed")
    return visit.elder_id


def _answered(session: Session, context: SurveyContext, subject_id: uuid.UUID) -> bool:
    found = session.exec(
        select(SatisfactionSurvey.id).where(
            SatisfactionSurvey.context == context, SatisfactionSurvey.subject_id == subject_id
        )
    ).first()
    return found is not None


def record(
    session: Session, *, data: SurveyIn, actor: User | None, request_id: str | None
) -> SatisfactionSurvey:
    """Stores an answer set (by a staff member, or from a link when `actor` is None)."""
    elder_id = _subject_elder(session, context=data.context, subject_id=data.subject_id,
                              actor=actor)  # fmt: skip
    if _answered(session, data.context, data.subject_id):
        raise SurveyError(409, "already_answered")
    survey = SatisfactionSurvey(
        context=data.context, subject_id=data.subject_id, elder_id=elder_id,
        channel=data.channel, overall=data.overall, timeliness=data.timeliness,
        courtesy=data.courtesy, comment=data.comment,
        recorded_by=actor.id if actor else None,
        answered_at=as_utc(data.answered_at) if data.answered_at else utcnow(),
    )  # fmt: skip
    session.add(survey)
    try:
        session.flush()
    except IntegrityError as exc:  # answered at the same moment by someone else
        session.rollback()
        raise SurveyError(409, "already_answered") from exc
    audit.record(
        session, actor=actor, action="create", entity="satisfaction_survey", entity_id=survey.id,
        elder_id=elder_id, fields=["overall", "timeliness", "courtesy", "comment"],
        request_id=request_id, detail={"channel": str(data.channel)},
    )  # fmt: skip
    return survey


# ---------------------------------------------------------------- links (SMS / LINE)

LINK_SALT = "eldercare.survey-link"
LINK_MAX_AGE = timedelta(days=14)


def make_link(
    session: Session, *, context: SurveyContext, subject_id: uuid.UUID, actor: User,
    secret_key: str, base_url: str,
) -> str:  # fmt: skip
    """A signed link the elder or family can answer from (sent by SMS or LINE)."""
    _subject_elder(session, context=context, subject_id=subject_id, actor=actor)
    if _answered(session, context, subject_id):
        raise SurveyError(409, "already_answered")
    token = link_token(context=context, subject_id=subject_id, secret_key=secret_key)
    return f"{base_url.rstrip('/')}/survey/{token}"


def link_token(*, context: SurveyContext, subject_id: uuid.UUID, secret_key: str) -> str:
    """Signed, not stored: it names only what is asked about, and expires (LINK_MAX_AGE)."""
    token: str = URLSafeTimedSerializer(secret_key, salt=LINK_SALT).dumps(
        {"c": context.value, "s": str(subject_id)}
    )
    return token


def read_link(token: str, *, secret_key: str) -> tuple[SurveyContext, uuid.UUID]:
    try:
        data = URLSafeTimedSerializer(secret_key, salt=LINK_SALT).loads(
            token, max_age=int(LINK_MAX_AGE.total_seconds())
        )
        return SurveyContext(data["c"]), uuid.UUID(data["s"])
    except SignatureExpired as exc:
        raise SurveyError(410, "link_expired") from exc
    except (BadSignature, KeyError, ValueError, TypeError) as exc:
        raise SurveyError(404, "link_invalid") from exc


# ---------------------------------------------------------------- staff asking by phone


@dataclass(frozen=True)
class ToAsk:
    """A resolved alert or completed visit nobody has answered about yet."""

    context: SurveyContext
    subject_id: uuid.UUID
    elder: str
    community: str | None
    ended_at: datetime
    phone: str | None  # the first contact's, to call the family


ASK_WITHIN = timedelta(days=14)


def to_ask(session: Session, *, actor: User, now: datetime | None = None) -> list[ToAsk]:
    """What this person may ask about, newest first: alerts for the response team, visits of
    the elders they see for the care team."""
    since = (now or utcnow()) - ASK_WITHIN
    answered = sa.select(col(SatisfactionSurvey.subject_id))
    found: list[tuple[SurveyContext, uuid.UUID, uuid.UUID, datetime]] = []
    if actor.role in ALERT_ROLES:
        ended = sa.func.coalesce(col(Alert.resolved_at), col(Alert.transported_at))
        rows = session.execute(
            sa.select(col(Alert.id), col(Alert.elder_id), ended).where(
                col(Alert.test).is_(False),
                col(Alert.status).in_(SURVEYED_ALERT_STATUSES),
                ended >= since,
                col(Alert.id).not_in(answered),
            )
        ).all()
        found += [(SurveyContext.ALERT, a, e, at) for a, e, at in rows]
    if actor.role in VISIT_ROLES:
        visits = sa.select(col(Visit.id), col(Visit.elder_id), col(Visit.ended_at)).where(
            col(Visit.status) == VisitStatus.COMPLETED, col(Visit.ended_at) >= since,
            col(Visit.id).not_in(answered),
        )  # fmt: skip
        visible = visible_elder_ids(session, actor)
        if visible is not None:
            visits = visits.where(col(Visit.elder_id).in_(visible))
        found += [(SurveyContext.VISIT, v, e, at) for v, e, at in session.execute(visits).all()]
    elder_ids = {e for _c, _s, e, _a in found}
    elders = {
        e.id: e for e in session.exec(select(Elder).where(col(Elder.id).in_(elder_ids))).all()
    }
    phones: dict[uuid.UUID, str] = {}
    for contact in session.exec(
        select(EmergencyContact)
        .where(col(EmergencyContact.elder_id).in_(elder_ids))
        .order_by(col(EmergencyContact.position).desc())
    ).all():
        phones[contact.elder_id] = contact.phone  # the lowest position wins
    return sorted(
        (
            ToAsk(
                context=c,
                subject_id=s,
                elder=display_name(elders[e]),
                community=elders[e].community,
                ended_at=as_utc(at),
                phone=phones.get(e),
            )
            for c, s, e, at in found
            if e in elders
        ),
        key=lambda item: item.ended_at,
        reverse=True,
    )
