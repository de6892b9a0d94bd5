"""The dispatch console in real Chromium: alarm, one-click actions, two screens, disconnects."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session

from server.alerts.models import Responder
from server.auth.models import Role, User
from tests.server.alerts.helpers import panic
from tests.server.conftest import TEST_PASSWORD
from tests.server.factories import make_elder
from tests.support.browser import login
from tests.support.live import free_port, serve

pytestmark = pytest.mark.browser


PAGE_ERRORS: list[str] = []


def _console(browser: Browser, base_url: str, username: str) -> Page:
    context = browser.new_context(locale="th-TH")
    page = context.new_page()
    page.on("pageerror", lambda error: PAGE_ERRORS.append(str(error)))
    login(page, base_url, username, TEST_PASSWORD)
    page.goto(f"{base_url}/console")
    expect(page.locator("#console")).to_have_attribute("data-connected", "true", timeout=10_000)
    return page


def _row(page: Page, alert_id: Any) -> Any:
    return page.locator(f'li.alert[data-id="{alert_id}"]')


def test_panic_to_resolved_on_two_consoles(
    browser: Browser, live_url: str, session: Session, users: dict[Role, User]
) -> None:
    elder = make_elder(session, access_notes="กุญแจอยู่ใต้กระถางหน้าบ้าน")
    session.add(Responder(name="ทีมกู้ชีพ เทศบาล 1"))
    session.commit()
    one = _console(browser, live_url, users[Role.DISPATCHER].username)
    two = _console(browser, live_url, users[Role.SUPERVISOR].username)
    expect(one.locator("#console")).to_have_attribute("data-alarm", "off")
    alert_id = panic(session, elder.id).alert_id

    for page in (one, two):
        expect(_row(page, alert_id)).to_have_attribute("data-status", "new", timeout=5_000)
        expect(page.locator("#console")).to_have_attribute("data-alarm", "on")
    expect(one.locator("#card")).to_contain_text("กุญแจอยู่ใต้กระถางหน้าบ้าน")
    expect(one.locator("#card a.tel").first).to_have_attribute("href", "tel:0899999999")
    expect(one.locator(".shortcuts")).to_contain_text("A รับเรื่อง")

    # Acknowledge with the keyboard shortcut; the alarm stops everywhere.
    expect(one.locator('#card button[data-action="acknowledge"]')).to_be_visible()
    one.keyboard.press("a")
    for page in (one, two):
        expect(_row(page, alert_id)).to_have_attribute("data-status", "acknowledged")
        expect(page.locator("#console")).to_have_attribute("data-alarm", "off")

    steps = [("dispatch", "dispatched"), ("on-scene", "on_scene")]
    for action, status in steps:
        button = one.locator(f'#card button[data-action="{action}"]')
        expect(button).to_be_visible()
        button.click()
        for page in (one, two):
            expect(_row(page, alert_id)).to_have_attribute("data-status", status)
    expect(two.locator("#card")).to_contain_text("ทีมกู้ชีพ เทศบาล 1")
    one.locator('#card button[data-action="resolve"]').click()
    for page in (one, two):
        expect(_row(page, alert_id)).to_have_count(0)
        expect(page.locator("#empty")).to_be_visible()
    for page in (one, two):
        page.context.close()
    assert PAGE_ERRORS == []


def test_card_is_whole_for_an_elder_with_empty_fields(
    browser: Browser, live_url: str, session: Session, users: dict[Role, User]
) -> None:
    """A missing access note or medicine list must never stop the rest of the card showing."""
    PAGE_ERRORS.clear()
    elder = make_elder(session, access_notes=None, medications=None, allergies=None,
                       chronic_conditions=[])  # fmt: skip
    page = _console(browser, live_url, users[Role.DISPATCHER].username)
    panic(session, elder.id)
    card = page.locator("#card")
    expect(card).to_contain_text("0899999999", timeout=5_000)  # the emergency contact
    expect(card.locator("h3")).to_have_count(3)  # contacts, latest readings, timeline
    assert PAGE_ERRORS == []
    page.context.close()


def test_disconnected_banner_appears_and_clears(
    browser: Browser, app: FastAPI, session: Session, users: dict[Role, User], db_url: str
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("the banner does not depend on the database; once is enough")
    port = free_port()
    with serve(app, port=port) as url:
        page = _console(browser, url, users[Role.DISPATCHER].username)
        expect(page.locator("#banner")).to_be_hidden()
    # Server stopped: the banner says so plainly and the clocks grey out.
    expect(page.locator("#banner")).to_be_visible(timeout=15_000)
    expect(page.locator("#console")).to_have_attribute("data-connected", "false")
    elder = make_elder(session)
    alert_id = panic(session, elder.id).alert_id  # raised while the console was away
    with serve(app, port=port):
        expect(page.locator("#banner")).to_be_hidden(timeout=15_000)
        # On reconnect it re-reads everything, including what happened while away.
        expect(_row(page, alert_id)).to_have_count(1)
        page.context.close()
