"""With the Content-Security-Policy on, the console, committee, admin and care pages load and
run their scripts in real Chromium with no CSP violation reported."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session

from server.auth.models import Role, User
from server.common.time import utcnow
from server.eligibility import rounds, rubrics, service
from server.eligibility.schemas import ApplicationCreate, NewApplicant, RoundCreate
from tests.server.conftest import TEST_PASSWORD
from tests.server.eligibility.conftest import answers, person
from tests.support.alerts import raise_panic_alert
from tests.support.browser import login
from tests.support.records import make_elder

pytestmark = pytest.mark.browser

# Recorded from the page itself, before any of its own scripts run.
WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def _round_with_applications(session: Session, users: dict[Role, User]) -> Any:
    admin = users[Role.ADMIN]
    rubric = rubrics.ensure_default_rubric(session)
    opens = utcnow() - timedelta(days=1)
    round_ = rounds.create_round(session, user=admin, data=RoundCreate(
        title="รอบทดสอบ", issuer="เทศบาล", code="C1", rubric_id=rubric.id, devices=1,
        opens_at=opens, closes_at=opens + timedelta(days=30),
        chair_id=users[Role.COMMITTEE].id), request_id=None)  # fmt: skip
    rounds.open_round(session, user=admin, round_id=round_.id, request_id=None)
    session.commit()
    for i in range(2):
        service.submit_application(
            session, user=admin, round_id=round_.id, request_id=None,
            data=ApplicationCreate(person=NewApplicant(**person(i)), answers=answers()),
        )  # fmt: skip
    rounds.close_round(session, user=admin, round_id=round_.id, request_id=None)
    rounds.rank_round(session, user=admin, round_id=round_.id, seed="csp", request_id=None)
    session.commit()
    return round_


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_pages_load_with_the_csp_and_no_violation(
    browser: Any, live_url: str, session: Session, users: dict[Role, User]
) -> None:
    elder = make_elder(session)
    raise_panic_alert(session, elder.id)
    round_ = _round_with_applications(session, users)
    visits = {
        "dispatcher": ["/console", "/console/phone-call?q=บุญมา", "/elders", "/account/password"],
        "committee": ["/committee", f"/committee/rounds/{round_.id}"],
        "admin": ["/admin/users", "/admin/devices", "/elders", f"/elders/{elder.id}"],
        "care_manager": ["/elders", f"/elders/{elder.id}"],
        "supervisor": ["/reports", "/oncall"],
        # Public pages reached from a text message, refused and not.
        "": ["/r/not-a-link", "/survey/not-a-link"],
    }
    problems: list[str] = []
    for username, paths in visits.items():
        context = browser.new_context(locale="th-TH")
        context.add_init_script(WATCH_CSP)
        page = context.new_page()
        messages: list[str] = []
        page.on("console", lambda m, into=messages: into.append(m.text))
        try:
            if username:
                login(page, live_url, username, TEST_PASSWORD)
            for path in paths:
                response = page.goto(f"{live_url}{path}")
                # The public links are forged: refused, with a page of their own.
                expected = 200 if username else 404
                assert response is not None and response.status == expected, (path, response)
                assert "script-src 'self'" in (
                    response.headers.get("content-security-policy") or ""
                )
                if path == "/console":
                    # The script ran: it connected and drew the queue.
                    page.wait_for_selector("#queue li", timeout=15000)
                if path.startswith("/committee/rounds/"):
                    # The moved script runs: expanding a row fetches and draws the breakdown.
                    page.click("#ranking button.expand >> nth=0")
                    page.wait_for_selector("table.breakdown", timeout=15000)
                if path == "/reports":
                    # The plots are inlined SVG, drawn with attributes, not inline CSS.
                    assert page.locator("figure svg").count() > 0
                page.wait_for_load_state("networkidle")
                violations = page.evaluate("window.__csp")
                problems += [f"{username} {path}: {v}" for v in violations]
            problems += [f"{username}: {m}" for m in messages if "Content Security Policy" in m]
        finally:
            context.close()
    assert not problems, "\n".join(problems)
