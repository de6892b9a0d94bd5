"""Recording a satisfaction survey after a resolved alert or a completed visit."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from server.alerts.models import Alert, AlertStatus
from server.audit import service as audit
from server.auth.models import Role, User
from server.common.time import as_utc, utcnow
from server.elders.models import Elder
from server.elders.service import can_see
from server.reports.models import SatisfactionSurvey, SurveyContext
from server.reports.schemas import SurveyIn
from server.visits.models import Visit, VisitStatus

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


def record(
    session: Session, *, data: SurveyIn, actor: User, request_id: str | None
) -> SatisfactionSurvey:
    if data.context == SurveyContext.ALERT:
        if actor.role not in ALERT_ROLES:
            raise SurveyError(403, "forbidden")
        alert = session.get(Alert, data.subject_id)
        if alert is None:
            raise SurveyError(404, "unknown_subject")
        if alert.test or alert.status not in SURVEYED_ALERT_STATUSES:
            raise SurveyError(409, "alert_not_resolved")
        elder_id = alert.elder_id
    else:
        if actor.role not in VISIT_ROLES:
            raise SurveyError(403, "forbidden")
        visit = session.get(Visit, data.subject_id)
        if visit is None:
            raise SurveyError(404, "unknown_subject")
        elder = session.get(Elder, visit.elder_id)
        if elder is None or not can_see(actor, elder):
            raise SurveyError(404, "unknown_subject")
        if visit.status != VisitStatus.COMPLETED:
            raise SurveyError(409, "visit_not_completed")
        elder_id = visit.elder_id
    existing = session.exec(
        select(SatisfactionSurvey.id).where(
            SatisfactionSurvey.context == data.context,
            SatisfactionSurvey.subject_id == data.subject_id,
        )
    ).first()
    if existing is not None:
        raise SurveyError(409, "already_answered")
    survey = SatisfactionSurvey(
        context=data.context, subject_id=data.subject_id, elder_id=elder_id,
        channel=data.channel, overall=data.overall, timeliness=data.timeliness,
        courtesy=data.courtesy, comment=data.comment, recorded_by=actor.id,
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
        request_id=request_id,
    )  # fmt: skip
    return survey
