"""The admin pages in real Chromium: log in, users, elders list and detail, Thai by default."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session

from server.auth.models import Role, User
from tests.server.conftest import TEST_PASSWORD
from tests.support.browser import login
from tests.support.records import make_elder

pytestmark = pytest.mark.browser


def test_admin_logs_in_and_browses_in_thai(
    browser: Any, live_url: str, session: Session, users: dict[Role, User]
) -> None:
    elder = make_elder(session, first_name="ประไพ", last_name="ศรีวงศ์", access_notes="กุญแจใต้กระถาง")
    page = browser.new_page(locale="th-TH")
    try:
        page.goto(f"{live_url}/elders")
        assert page.url.startswith(f"{live_url}/login")  # not logged in: sent to log in
        assert page.locator("h1").inner_text() == "เข้าสู่ระบบ"

        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", "wrong password")
        page.click("button[type=submit]")
        assert "ไม่ถูกต้อง" in page.locator("#login-error").inner_text()

        login(page, live_url, "admin", TEST_PASSWORD)
        page.goto(f"{live_url}/elders")
        assert "ประไพ ศรีวงศ์" in page.locator("#elders").inner_text()
        page.click("text=ประไพ ศรีวงศ์")
        page.wait_for_url(f"{live_url}/elders/{elder.id}")
        assert page.locator("#national-id").inner_text().isdigit()  # admins see it whole
        assert "กุญแจใต้กระถาง" in page.content()

        page.goto(f"{live_url}/admin/users")
        page.fill("input[name=username]", "newcomer")
        page.fill("input[name=full_name]", "ผู้ใช้ใหม่")
        page.select_option("select[name=role]", "volunteer")
        page.fill("input[name=password]", "long-enough-1")
        page.click("form[action='/admin/users'] button[type=submit]")
        assert "newcomer" in page.locator("#users").inner_text()
        assert "เพิ่มผู้ใช้งาน newcomer แล้ว" in page.content()

        page.goto(f"{live_url}/elders?lang=en")
        assert page.locator("h1").inner_text() == "Elders"
    finally:
        page.close()


def test_caregiver_sees_only_assigned_elders_and_no_admin_page(
    browser: Any, live_url: str, session: Session, users: dict[Role, User]
) -> None:
    make_elder(session, first_name="มาลี", caregiver_id=users[Role.CAREGIVER].id)
    make_elder(session, first_name="ลำดวน")
    page = browser.new_page(locale="th-TH")
    try:
        login(page, live_url, "caregiver", TEST_PASSWORD)
        page.goto(f"{live_url}/elders")
        listing = page.locator("#elders").inner_text()
        assert "มาลี" in listing and "ลำดวน" not in listing
        page.goto(f"{live_url}/admin/users")
        assert "ไม่มีสิทธิ์" in page.content()
    finally:
        page.close()


def test_forms_without_csrf_token_are_refused(
    browser: Any, live_url: str, users: dict[Role, User]
) -> None:
    page = browser.new_page(locale="th-TH")
    try:
        login(page, live_url, "admin", TEST_PASSWORD)
        # A forged form post (the session cookie rides along, the CSRF token does not).
        status = page.evaluate(
            """async (url) => {
                const body = new URLSearchParams({username: 'x1', full_name: 'x', role: 'admin', password: '12345678'});
                const r = await fetch(url + '/admin/users', {method: 'POST', body});
                return r.status;
            }""",
            live_url,
        )
        assert status == 403
    finally:
        page.close()
