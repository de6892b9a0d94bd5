"""Asking families by SMS or LINE: a survey link after help has come and gone, and after visits.

A sweep in every server process finds resolved alerts (not test presses) an hour old and
completed visits, and sends the elder's first contact a signed link (`/survey/<token>`). The
invitation row is unique per alert or visit, so two processes sweeping at once send one
message. A home is asked about visits at most once a month; nobody is asked about something
already answered. The message names no person and no health matter.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, select

from server.alerts.models import Alert
from server.care.models import Visit, VisitStatus
from server.common.time import utcnow
from server.config import Settings
from server.elders.models import EmergencyContact
from server.notify.line import message_contact
from server.reports.config import SurveySettings
from server.reports.models import SatisfactionSurvey, SurveyContext, SurveyInvitation
from server.reports.surveys import SURVEYED_ALERT_STATUSES, link_token

log = logging.getLogger(__name__)

TEMPLATES = {
    SurveyContext.ALERT: "reports.survey.invite.alert",
    SurveyContext.VISIT: "reports.survey.invite.visit",
}


def _not_asked(context: SurveyContext, subject: Mapped[uuid.UUID]) -> sa.ColumnElement[bool]:
    invited = sa.exists().where(
        col(SurveyInvitation.context) == context, col(SurveyInvitation.subject_id) == subject
    )
    answered = sa.exists().where(
        col(SatisfactionSurvey.context) == context, col(SatisfactionSurvey.subject_id) == subject
    )
    return sa.and_(~invited, ~answered)


def _alerts_to_ask(
    session: Session, *, now: datetime, survey: SurveySettings
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    ended = sa.func.coalesce(col(Alert.resolved_at), col(Alert.transported_at))
    rows = session.execute(
        sa.select(col(Alert.id), col(Alert.elder_id)).where(
            col(Alert.test).is_(False),
            col(Alert.status).in_(SURVEYED_ALERT_STATUSES),
            ended <= now - timedelta(minutes=survey.after_alert_minutes),
            ended >= now - timedelta(days=survey.ask_within_days),
            _not_asked(SurveyContext.ALERT, col(Alert.id)),
        )
    ).all()
    return [(row[0], row[1]) for row in rows]


def _visits_to_ask(
    session: Session, *, now: datetime, survey: SurveySettings
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    if survey.visit_every_days == 0:
        return []
    recently_invited = sa.exists().where(
        col(SurveyInvitation.elder_id) == col(Visit.elder_id),
        col(SurveyInvitation.context) == SurveyContext.VISIT,
        col(SurveyInvitation.created_at) >= now - timedelta(days=survey.visit_every_days),
    )
    rows = session.execute(
        sa.select(col(Visit.id), col(Visit.elder_id))
        .where(
            col(Visit.status) == VisitStatus.COMPLETED,
            col(Visit.ended_at) >= now - timedelta(days=survey.ask_within_days),
            col(Visit.ended_at) <= now,
            ~recently_invited,
            _not_asked(SurveyContext.VISIT, col(Visit.id)),
        )
        .order_by(col(Visit.ended_at).desc())
    ).all()
    latest: dict[uuid.UUID, uuid.UUID] = {}
    for visit_id, elder_id in rows:
        latest.setdefault(elder_id, visit_id)  # one question per home: its latest visit
    return [(visit_id, elder_id) for elder_id, visit_id in latest.items()]


def _first_contact(session: Session, elder_id: uuid.UUID) -> EmergencyContact | None:
    return session.exec(
        select(EmergencyContact)
        .where(
            EmergencyContact.elder_id == elder_id,
            col(EmergencyContact.notify_on_alerts).is_(True),
        )
        .order_by(col(EmergencyContact.position))
        .limit(1)
    ).first()


def invite_due(
    session: Session, *, settings: Settings, survey: SurveySettings, now: datetime | None = None
) -> int:
    """Sends what is due; returns how many invitations went out. The caller commits."""
    now = now or utcnow()
    sent = 0
    due = [(SurveyContext.ALERT, *pair) for pair in _alerts_to_ask(session, now=now, survey=survey)]
    due += [
        (SurveyContext.VISIT, *pair) for pair in _visits_to_ask(session, now=now, survey=survey)
    ]
    for context, subject_id, elder_id in due:
        contact = _first_contact(session, elder_id)
        if contact is None:
            continue
        try:
            with session.begin_nested():
                session.add(SurveyInvitation(context=context, subject_id=subject_id,
                                             elder_id=elder_id, contact_id=contact.id))  # fmt: skip
        except IntegrityError:
            continue  # another process sent this one
        token = link_token(context=context, subject_id=subject_id, secret_key=settings.secret_key)
        message_contact(
            session, contact=contact, template_key=TEMPLATES[context], params={"token": token},
            subject="survey", subject_id=subject_id,
        )  # fmt: skip
        sent += 1
    return sent


def _sweep(engine: Engine, settings: Settings, survey: SurveySettings) -> int:
    with Session(engine, expire_on_commit=False) as session:
        sent = invite_due(session, settings=settings, survey=survey)
        session.commit()
        return sent


async def invitation_loop(engine: Engine, settings: Settings, survey: SurveySettings) -> None:
    while True:
        try:
            sent = await asyncio.to_thread(_sweep, engine, settings, survey)
            if sent:
                log.info("survey invitations sent: %d", sent)
        except Exception:  # a failed sweep is tried again at the next one
            log.exception("survey invitation sweep failed")
        await asyncio.sleep(survey.sweep_seconds)
