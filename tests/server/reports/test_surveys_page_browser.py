"""Staff asking by phone (/surveys) in real Chromium: a dispatcher sees the resolved alert,
records the family's answer, and it leaves the list; a caregiver sees only visits of the
elders assigned to them; the page has no serious accessibility violation, in Thai and English."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from server.alerts.models import Alert, AlertStatus
from server.auth.models import Role, User
from server.care.models import Visit, VisitStatus
from server.common.time import utcnow
from server.reports.models import SatisfactionSurvey, SurveyChannel
from tests.server.careapp.test_app_browser import axe_serious
from tests.server.conftest import TEST_PASSWORD
from tests.support.alerts import raise_panic_alert
from tests.support.browser import login
from tests.support.records import make_elder

pytestmark = pytest.mark.browser


def test_staff_record_a_family_answer_by_phone(
    browser: Any, live_url: str, session: Session, users: dict[Role, User]
) -> None:
    elder = make_elder(session, first_name="ทองใบ")
    alert = session.get(Alert, raise_panic_alert(session, elder.id).alert_id)
    assert alert is not None
    alert.status, alert.resolved_at = AlertStatus.RESOLVED, utcnow() - timedelta(hours=2)
    mine = make_elder(session, first_name="มาลี", caregiver_id=users[Role.CAREGIVER].id)
    other = make_elder(session, first_name="สมปอง")
    for who in (mine, other):
        session.add(Visit(elder_id=who.id, status=VisitStatus.COMPLETED, ended_at=utcnow()))
    session.commit()

    context = browser.new_context(locale="th-TH", bypass_csp=True)  # axe-core is injected
    page = context.new_page()
    try:
        login(page, live_url, "dispatcher", TEST_PASSWORD)
        page.goto(f"{live_url}/surveys")
        row = page.locator(f"li[data-subject='{alert.id}']")
        assert "ทองใบ" in row.inner_text() and "tel:" in (
            row.locator("a").get_attribute("href") or ""
        )
        assert axe_serious(page) == []
        row.locator("textarea").fill("มาเร็ว")
        row.locator("button[value='4']").click()
        page.wait_for_selector("#survey-saved")
        assert page.locator(f"li[data-subject='{alert.id}']").count() == 0
        # A dispatcher asks about alerts, not visits.
        assert page.locator("li[data-subject]").count() == 0
        page.goto(f"{live_url}/surveys?lang=en")
        assert page.locator("h1").inner_text() == "Satisfaction by phone"
        assert axe_serious(page) == []
    finally:
        context.close()
    answer = session.exec(
        select(SatisfactionSurvey).where(SatisfactionSurvey.subject_id == alert.id)
    ).one()
    assert answer.overall == 4 and answer.channel == SurveyChannel.STAFF
    assert answer.recorded_by == users[Role.DISPATCHER].id and answer.comment == "มาเร็ว"

    context = browser.new_context(locale="th-TH")
    page = context.new_page()
    try:
        login(page, live_url, "caregiver", TEST_PASSWORD)
        page.goto(f"{live_url}/surveys")
        text = page.locator("#to-ask").inner_text()
        assert "มาลี" in text and "สมปอง" not in text and "ทองใบ" not in text
    finally:
        context.close()
