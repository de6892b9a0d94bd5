"""Survey links to families: after a resolved alert (an hour later) and after visits (once a
month per home), once per alert or visit, never for test presses or what is answered; the
message names nobody and nothing about health; end to end, the real Twilio client carries the
link to the fake and the family answers it on the live server."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import Session, select

from server.alerts.models import Alert, AlertStatus
from server.care.models import Visit, VisitStatus
from server.common.time import utcnow
from server.config import Settings
from server.main import create_app
from server.notify.models import Notification
from server.notify.service import render_message
from server.reports.config import SurveySettings
from server.reports.invitations import invite_due
from server.reports.models import SatisfactionSurvey, SurveyChannel, SurveyContext, SurveyInvitation
from server.reports.surveys import read_link
from tests.server.oncall.conftest import fake, phone_settings
from tests.support.alerts import raise_panic_alert
from tests.support.fake_twilio import FakeTwilio
from tests.support.live import free_port, serve
from tests.support.records import make_elder

__all__ = ["fake"]  # the fake Twilio fixture, used by the end-to-end test

SURVEY = SurveySettings(after_alert_minutes=60, visit_every_days=30, ask_within_days=7)


def _resolved_alert(session: Session, *, ago: timedelta, test: bool = False) -> Alert:
    elder = make_elder(session)
    alert = session.get(Alert, raise_panic_alert(session, elder.id, test=test).alert_id)
    assert alert is not None
    alert.status = AlertStatus.RESOLVED
    alert.resolved_at = utcnow() - ago
    session.add(alert)
    session.commit()
    return alert


def _invitations(session: Session) -> list[Notification]:
    return list(session.exec(select(Notification).where(Notification.subject == "survey")).all())


def test_a_resolved_alert_is_asked_about_once_an_hour_later(
    session: Session, settings: Settings
) -> None:
    alert = _resolved_alert(session, ago=timedelta(minutes=90))
    too_soon = _resolved_alert(session, ago=timedelta(minutes=10))
    _resolved_alert(session, ago=timedelta(minutes=90), test=True)  # a test press: never
    answered = _resolved_alert(session, ago=timedelta(minutes=90))
    session.add(SatisfactionSurvey(context=SurveyContext.ALERT, subject_id=answered.id,
                                   elder_id=answered.elder_id, channel=SurveyChannel.STAFF,
                                   overall=5, answered_at=utcnow()))  # fmt: skip
    session.commit()

    assert invite_due(session, settings=settings, survey=SURVEY) == 1
    session.commit()
    [row] = _invitations(session)
    assert row.subject_id == alert.id and row.to == "0899999999"
    assert row.template_key == "reports.survey.invite.alert"
    text = render_message(row, base="https://eldercare.example")
    token = re.search(r"https://eldercare\.example/survey/(\S+)", text)
    assert token is not None
    assert read_link(token.group(1), secret_key=settings.secret_key) == (
        SurveyContext.ALERT,
        alert.id,
    )
    # Nobody named, nothing about health.
    assert "บุญมา" not in text and "เบาหวาน" not in text
    # A second sweep (or another process) sends nothing more; an hour on, the later one goes.
    assert invite_due(session, settings=settings, survey=SURVEY) == 0
    later = utcnow() + timedelta(hours=1)
    assert invite_due(session, settings=settings, survey=SURVEY, now=later) == 1
    session.commit()
    assert {r.subject_id for r in _invitations(session)} == {alert.id, too_soon.id}


def test_an_invitation_is_unique_per_alert(session: Session, settings: Settings) -> None:
    alert = _resolved_alert(session, ago=timedelta(hours=2))
    session.add(SurveyInvitation(context=SurveyContext.ALERT, subject_id=alert.id,
                                 elder_id=alert.elder_id))  # fmt: skip
    session.commit()
    assert invite_due(session, settings=settings, survey=SURVEY) == 0
    session.add(SurveyInvitation(context=SurveyContext.ALERT, subject_id=alert.id,
                                 elder_id=alert.elder_id))  # fmt: skip
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        session.commit()
    session.rollback()


def test_a_home_is_asked_about_visits_once_a_month(session: Session, settings: Settings) -> None:
    elder = make_elder(session)
    now = utcnow()

    def visit(ended: timedelta) -> Visit:
        row = Visit(elder_id=elder.id, status=VisitStatus.COMPLETED, started_at=now - ended,
                    ended_at=now - ended)  # fmt: skip
        session.add(row)
        session.commit()
        return row

    visit(timedelta(days=2))
    latest = visit(timedelta(hours=3))
    assert invite_due(session, settings=settings, survey=SURVEY) == 1
    session.commit()
    [row] = _invitations(session)
    assert row.subject_id == latest.id and row.template_key == "reports.survey.invite.visit"
    # Another visit a week later: not asked again within the month.
    visit(timedelta(hours=1))
    week_on = now + timedelta(days=7)
    assert invite_due(session, settings=settings, survey=SURVEY, now=week_on) == 0
    # A month on, the next visit is asked about.
    month_on = now + timedelta(days=31)
    session.add(Visit(elder_id=elder.id, status=VisitStatus.COMPLETED, ended_at=month_on))
    session.commit()
    assert invite_due(session, settings=settings, survey=SURVEY, now=month_on) == 1
    # Switched off: visits are asked about by staff only.
    off = SurveySettings(visit_every_days=0)
    later = month_on + timedelta(days=40)
    session.add(Visit(elder_id=elder.id, status=VisitStatus.COMPLETED, ended_at=later))
    session.commit()
    assert invite_due(session, settings=settings, survey=off, now=later) == 0


@pytest.fixture
def live_app(db_url: str, tmp_path: Path, fake: FakeTwilio) -> Iterator[tuple[str, FastAPI]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = create_app(phone_settings(db_url, tmp_path, public_url=url, fake_url=fake.url))
    app.state.survey_settings = SurveySettings(after_alert_minutes=0, sweep_seconds=0.2)
    with serve(app, port=port):
        yield url, app
    app.state.engine.dispose()


@pytest.mark.slow
def test_the_family_gets_the_link_by_sms_and_answers_it(
    live_app: tuple[str, FastAPI], fake: FakeTwilio
) -> None:
    url, app = live_app
    with Session(app.state.engine, expire_on_commit=False) as session:
        alert = _resolved_alert(session, ago=timedelta(minutes=1))

    def has_link(got: list[object]) -> bool:
        return any("/survey/" in r.get("Body") for r in fake.accepted("sms"))

    fake.wait_for(has_link, timeout=30)
    [sms] = [r for r in fake.accepted("sms") if "/survey/" in r.get("Body")]
    assert sms.get("To") == "+66899999999"
    link = re.search(r"(http://\S+/survey/\S+)", sms.get("Body"))
    assert link is not None and link.group(1).startswith(url)
    form = httpx.get(link.group(1), timeout=30)
    assert form.status_code == 200 and 'name="overall"' in form.text
    done = httpx.post(link.group(1), data={"overall": "4"}, timeout=30)
    assert done.status_code == 200 and "survey-thanks" in done.text
    with Session(app.state.engine) as session:
        answer = session.exec(
            select(SatisfactionSurvey).where(SatisfactionSurvey.subject_id == alert.id)
        ).one()
        assert answer.channel == SurveyChannel.LINK and answer.overall == 4
        invitation = session.exec(select(SurveyInvitation)).one()
        assert invitation.subject_id == alert.id and isinstance(invitation.id, uuid.UUID)
