"""The roster and policy pages in real Chromium, Thai and English: a supervisor builds a team,
its shift and a policy through the forms (CSRF-checked), issues a LINE link code, and
axe-core finds no serious or critical problem on either page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from server.auth.models import Role, User
from tests.server.conftest import TEST_PASSWORD
from tests.support.browser import login
from tests.support.records import make_elder

pytestmark = pytest.mark.browser

AXE = (
    Path(__file__).resolve().parents[3]
    / "caregiver_app"
    / "node_modules"
    / "axe-core"
    / "axe.min.js"
)


def axe_serious(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa']}})).violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target)}))"""
    )
    return found


def test_supervisor_edits_the_roster_and_policy_and_issues_a_line_code(
    browser: Any, live_url: str, session: Session, users: dict[Role, User]
) -> None:
    if not AXE.exists():
        pytest.fail(f"axe-core is missing ({AXE}); run `make app`")
    make_elder(session, first_name="บุญมี")
    dispatcher = users[Role.DISPATCHER]
    context = browser.new_context(locale="th-TH", bypass_csp=True)  # axe is injected
    page = context.new_page()
    try:
        login(page, live_url, "supervisor", TEST_PASSWORD)
        page.goto(f"{live_url}/oncall")
        page.click("a[href='/oncall/manage']")
        page.wait_for_url(f"{live_url}/oncall/manage")
        assert page.locator("h1").inner_text() == "ตารางเวรและขั้นตอนการแจ้งต่อ"

        page.fill("#team-form input[name=name]", "ศูนย์รับแจ้งเหตุ")
        page.click("#team-form button[type=submit]")
        assert "เพิ่มทีมแล้ว" in page.locator("[role=status]").inner_text()
        team = page.locator("section[data-team='ศูนย์รับแจ้งเหตุ']")
        team.locator(".member-form select[name=user_id]").select_option(str(dispatcher.id))
        team.locator(".member-form input[name=phone]").fill("081-234-5678")
        team.locator(".member-form button[type=submit]").click()
        team = page.locator("section[data-team='ศูนย์รับแจ้งเหตุ']")
        assert (
            "081-234-5678" in team.locator(f"tr[data-member='{dispatcher.full_name}']").inner_text()
        )

        form = team.locator(".shift-form")
        form.locator("input[name=name]").fill("เวรดึก")
        form.locator("input[name=starts]").fill("22:00")
        form.locator("input[name=ends]").fill("06:00")
        form.locator("select[name=user_id]").select_option(str(dispatcher.id))
        form.locator("button[type=submit]").click()
        row = page.locator("tr[data-shift='เวรดึก']")
        assert "22:00–06:00" in row.inner_text()

        policy = page.locator("#policy-RED")
        policy.locator("input[name=after_seconds]").nth(1).fill("45")
        policy.locator("button[type=submit]").click()
        assert "บันทึกขั้นตอนเป็นฉบับใหม่แล้ว" in page.locator("[role=status]").inner_text()
        assert "ฉบับที่ 1" in page.locator("#policy-RED h3").inner_text()
        assert page.locator("#policy-RED input[name=after_seconds]").nth(1).input_value() == "45"
        assert axe_serious(page) == []

        # A form posted from elsewhere (no CSRF token with the session cookie) is refused.
        forged = page.request.post(
            f"{live_url}/oncall/manage/teams", form={"name": "ปลอม", "kind": "centre"}
        )
        assert forged.status == 403

        page.goto(f"{live_url}/oncall/line-codes")
        page.fill("input[name=q]", "บุญมี")
        page.click("form[role=search] button[type=submit]")
        page.locator("#contacts form button[type=submit]").first.click()
        code = page.locator("#issued-code").inner_text()
        assert len(code) == 6 and code.isdigit()
        assert axe_serious(page) == []

        for path in ("/oncall/manage?lang=en", "/oncall/line-codes?lang=en&q=%E0%B8%9A"):
            page.goto(f"{live_url}{path}")
            assert page.locator("html").get_attribute("lang") == "en"
            assert axe_serious(page) == [], path
        assert page.locator("h1").inner_text() == "LINE link codes"
    finally:
        context.close()
