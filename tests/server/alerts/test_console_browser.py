"""The dispatch console in real Chromium: alarm, one-click actions, two screens, disconnects."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

import triage
from server.alerts.models import Alert, AlertEvent, AlertKind, Responder
from server.alerts.service import raise_alert
from server.auth.models import Role, User
from server.common.time import utcnow
from server.config import Settings
from tests.server.conftest import TEST_PASSWORD
from tests.support.alerts import raise_panic_alert, raise_vitals_alert
from tests.support.browser import CHROMIUM_ARGS, login
from tests.support.live import free_port, serve
from tests.support.records import make_elder, token_for
from tests.support.tiers import chromium_path

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
    alert_id = raise_panic_alert(session, elder.id).alert_id

    for page in (one, two):
        expect(_row(page, alert_id)).to_have_attribute("data-status", "new", timeout=5_000)
        expect(page.locator("#console")).to_have_attribute("data-alarm", "on")
    expect(one.locator("#card")).to_contain_text("กุญแจอยู่ใต้กระถางหน้าบ้าน")
    expect(one.locator("#card .contacts a.tel").first).to_have_attribute("href", "tel:0899999999")
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
        # The card is re-read after each step: act on the new one, as a person would.
        expect(button).to_have_count(0)
    expect(two.locator("#card")).to_contain_text("ทีมกู้ชีพ เทศบาล 1")
    one.locator('#card button[data-action="resolve"]').click()
    for page in (one, two):
        expect(_row(page, alert_id)).to_have_count(0)
        expect(page.locator("#empty")).to_be_visible()
    for page in (one, two):
        page.context.close()
    assert PAGE_ERRORS == []


def test_alerts_arriving_one_by_one_keep_the_console_order(
    browser: Browser, live_url: str, session: Session, users: dict[Role, User]
) -> None:
    page = _console(browser, live_url, users[Role.DISPATCHER].username)
    drill = raise_panic_alert(session, make_elder(session).id, test=True).alert_id
    expect(_row(page, drill)).to_have_count(1, timeout=5_000)
    yellow = raise_alert(session, elder_id=make_elder(session).id, kind=AlertKind.VITALS,
                         priority=triage.Priority.YELLOW, reasons=[]).alert_id  # fmt: skip
    session.commit()
    real = raise_panic_alert(session, make_elder(session).id).alert_id
    rows = page.locator("li.alert")
    expect(rows).to_have_count(3, timeout=5_000)
    order = [str(real), str(drill), str(yellow)]
    expect(rows.first).to_have_attribute("data-id", order[0])
    assert [rows.nth(i).get_attribute("data-id") for i in range(3)] == order
    page.reload()  # the server's snapshot gives the same order
    expect(rows).to_have_count(3, timeout=10_000)
    assert [rows.nth(i).get_attribute("data-id") for i in range(3)] == order
    page.context.close()


def test_card_is_whole_for_an_elder_with_empty_fields(
    browser: Browser, live_url: str, session: Session, users: dict[Role, User]
) -> None:
    """A missing access note or medicine list must never stop the rest of the card showing."""
    PAGE_ERRORS.clear()
    elder = make_elder(session, access_notes=None, medications=None, allergies=None,
                       chronic_conditions=[])  # fmt: skip
    page = _console(browser, live_url, users[Role.DISPATCHER].username)
    raise_panic_alert(session, elder.id)
    card = page.locator("#card")
    expect(card).to_contain_text("0899999999", timeout=5_000)  # the emergency contact
    expect(card.locator("h3")).to_have_count(4)  # call script, contacts, readings, timeline
    expect(card.locator(".field .value").first).to_be_visible()
    assert "ยังไม่ได้บันทึก" in card.inner_text()  # access notes: said in words, not a dash
    assert PAGE_ERRORS == []
    page.context.close()


def test_a_row_shows_the_kind_and_the_main_finding_the_card_shows_all(
    browser: Browser, live_url: str, session: Session, users: dict[Role, User]
) -> None:
    PAGE_ERRORS.clear()
    page = _console(browser, live_url, users[Role.DISPATCHER].username)
    crisis = {"systolic": 185, "diastolic": 125, "pulse": 135}
    alert_id = raise_vitals_alert(session, make_elder(session).id, crisis).alert_id
    what = _row(page, alert_id).locator(".what")
    expect(what).to_contain_text("ความดันโลหิตสูงวิกฤต (185/125", timeout=5_000)
    row = what.inner_text()
    # For readings the findings lead; "abnormal reading" alone says nothing.
    assert row.startswith("ความดันโลหิตสูงวิกฤต"), row
    for card_only in ("ขาด:", "ใช้ประกอบการตัดสินใจ", "NEWS2 พัฒนาขึ้น", "วัดความดันโลหิตซ้ำ",
                      "คะแนน NEWS2 บางส่วน"):  # fmt: skip
        assert card_only not in row, (card_only, row)
    assert len(row.split(";")) == 2, row

    # The findings are on the card in full; the partial NEWS2 detail is folded, with the
    # unmeasured parameters in one line.
    card = page.locator("#card")
    expect(card.locator(".findings li").first).to_contain_text("ความดันโลหิตสูงวิกฤต")
    clinical = card.locator("details.clinical")
    expect(clinical).to_have_count(1)
    assert clinical.get_attribute("open") is None
    reasons = clinical.locator("ul.reasons li")
    expect(reasons.filter(has_text="ขาด:")).to_have_count(0)
    expect(reasons.filter(has_text="ยังไม่ได้วัด:")).to_have_count(1)
    expect(page.locator('#card li[data-key="triage.decision_support"]')).to_have_count(0)
    expect(card.locator(".disclaimer")).to_have_count(1)
    assert PAGE_ERRORS == []
    page.context.close()


def test_a_false_alarm_asks_for_its_reason_in_the_page(
    browser: Browser, live_url: str, session: Session, users: dict[Role, User]
) -> None:
    PAGE_ERRORS.clear()
    page = _console(browser, live_url, users[Role.DISPATCHER].username)
    alert_id = raise_panic_alert(session, make_elder(session).id).alert_id
    row = _row(page, alert_id)
    expect(page.locator('#card button[data-action="false-alarm"]')).to_be_visible(timeout=5_000)
    dialog, text = page.locator("#reason-dialog"), page.locator("#reason-text")

    # F opens the form with the cursor in it; Escape leaves without doing anything.
    page.keyboard.press("f")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("เตือนผิดพลาด (ไม่ใช่เหตุจริง)")
    expect(text).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(row).to_have_attribute("data-status", "new")

    # A dispatcher who closes the form and reopens it at once gets it back whole, with the
    # cursor in it: the first close, still queued in the page, must not undo the reopening.
    for _ in range(10):
        page.keyboard.press("f")
        expect(text).to_be_focused()
        page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # A reason is required; shortcut letters go into the form, not to the alert behind it.
    page.keyboard.press("f")
    expect(text).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#reason-error")).to_be_visible()
    expect(dialog).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.locator("#reason-confirm")).to_be_focused()
    page.keyboard.press("a")
    expect(row).to_have_attribute("data-status", "new")
    text.focus()
    page.keyboard.type("ยายกดปุ่มโดยไม่ตั้งใจ")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(row).to_have_count(0)
    event = session.exec(
        select(AlertEvent).where(
            AlertEvent.alert_id == alert_id, AlertEvent.action == "false_alarm"
        )
    ).one()
    assert event.note == "ยายกดปุ่มโดยไม่ตั้งใจ"

    # With the mouse: the card's Cancel button opens the same form, Back closes it.
    other = raise_panic_alert(session, make_elder(session).id).alert_id
    expect(page.locator('#card button[data-action="cancel"]')).to_be_visible(timeout=5_000)
    page.locator('#card button[data-action="cancel"]').click()
    expect(dialog).to_be_visible()
    page.locator("#reason-cancel").click()
    expect(dialog).to_be_hidden()
    expect(_row(page, other)).to_have_attribute("data-status", "new")
    assert PAGE_ERRORS == []
    page.context.close()


def _luminance(css: str) -> float:
    """WCAG relative luminance of an opaque computed colour, "rgb(r, g, b)"."""
    match = re.fullmatch(r"rgb\((\d+), (\d+), (\d+)\)", css)
    assert match, f"not an opaque colour: {css}"

    def linear(channel: str) -> float:
        c = int(channel) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in match.groups())
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(foreground: str, background: str) -> float:
    light, dark = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_arithmetic_matches_wcag() -> None:
    assert contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)") == pytest.approx(21)
    assert contrast("rgb(118, 118, 118)", "rgb(255, 255, 255)") == pytest.approx(4.54, abs=0.01)
    # What the grey badges were: the page's near-white text on app.css's light grey.
    assert contrast("rgb(245, 245, 245)", "rgb(232, 234, 237)") < 1.2


# Colours on the page, not what is stored: one database is enough.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_every_badge_is_readable(
    browser: Browser, live_url: str, session: Session, users: dict[Role, User]
) -> None:
    for priority, kind in [
        (triage.Priority.RED, AlertKind.PANIC),
        (triage.Priority.YELLOW, AlertKind.VITALS),
        (triage.Priority.GREEN, AlertKind.VITALS),
        (triage.Priority.WHITE, AlertKind.HUB_OFFLINE),
    ]:
        for test in (False, True):
            raise_alert(session, elder_id=make_elder(session).id, kind=kind, priority=priority,
                        reasons=[], test=test)  # fmt: skip
    session.commit()
    red = session.exec(select(Alert).where(Alert.kind == AlertKind.PANIC)).first()
    assert red is not None
    red.escalated_at, red.sla_breached, red.press_count = utcnow(), True, 3
    session.add(red)
    session.commit()

    page = _console(browser, live_url, users[Role.DISPATCHER].username)
    expect(page.locator("li.alert")).to_have_count(8, timeout=5_000)
    badges = page.locator("#queue .badge").evaluate_all(
        """nodes => nodes.map(n => {
            const style = getComputedStyle(n);
            return [n.className + ' ' + n.textContent, style.color, style.backgroundColor];
        })"""
    )
    classes = {name.split(" ")[1] for name, _, _ in badges}
    assert {"prio", "status", "test", "warn"} <= classes, classes
    weak = [(name, fg, bg) for name, fg, bg in badges if contrast(fg, bg) < 4.5]
    assert not weak, weak
    page.context.close()


def test_a_silent_alarm_is_shouted_until_the_sound_is_on(
    browser: Browser,
    live_url: str,
    session: Session,
    users: dict[Role, User],
    settings: Settings,
) -> None:
    # The shared browser lets pages sound unasked; a dispatcher's browser, like this one, waits
    # for a click or a key press on the page.
    args = [a for a in CHROMIUM_ARGS if not a.startswith("--autoplay-policy")]
    strict = browser.browser_type.launch(executable_path=chromium_path(), args=args)
    try:
        context = strict.new_context(locale="th-TH", viewport={"width": 1280, "height": 800})
        # Logged in by cookie: a click on the login page must not count as that gesture.
        cookie = token_for(session, users[Role.DISPATCHER], settings=settings, purpose="session")
        context.add_cookies([{"name": settings.session_cookie, "value": cookie, "url": live_url}])
        page = context.new_page()
        page.goto(f"{live_url}/console")
        console = page.locator("#console")
        expect(console).to_have_attribute("data-connected", "true", timeout=10_000)
        button = page.locator("#enable-sound")
        expect(button).to_be_visible()
        expect(button).to_contain_text("เสียงเตือนปิดอยู่")
        expect(console).to_have_attribute("data-sound", "off")
        raise_panic_alert(session, make_elder(session).id)
        expect(console).to_have_attribute("data-alarm", "blocked", timeout=5_000)

        box = button.bounding_box()
        assert box is not None and box["height"] >= 60 and box["width"] >= 1000, box
        style = "b => [getComputedStyle(b).color, getComputedStyle(b).backgroundColor]"
        fg, bg = button.evaluate(style)
        assert contrast(fg, bg) >= 4.5, (fg, bg)
        # Amber, not the red of a RED alert; and the whole screen flashes while it is blocked.
        red, green, blue = (int(c) for c in re.findall(r"\d+", bg))
        assert red >= 230 and 140 <= green <= 200 and blue <= 60, bg
        expect(button).to_contain_text("กดปุ่มใดก็ได้")
        overlay = page.locator("#alarm-overlay")
        expect(overlay).to_be_visible()
        cover = overlay.bounding_box()
        assert cover is not None and cover["width"] >= 1280 and cover["height"] >= 800, cover

        page.keyboard.press("x")  # any key turns the sound on
        expect(button).to_be_hidden()
        expect(overlay).to_be_hidden()
        expect(console).to_have_attribute("data-sound", "on")
        expect(console).to_have_attribute("data-alarm", "on")
    finally:
        strict.close()

    page = _console(browser, live_url, users[Role.DISPATCHER].username)
    expect(page.locator("#console")).to_have_attribute("data-sound", "on")
    expect(page.locator("#enable-sound")).to_be_hidden()
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
    alert_id = raise_panic_alert(session, elder.id).alert_id  # raised while the console was away
    with serve(app, port=port):
        expect(page.locator("#banner")).to_be_hidden(timeout=15_000)
        # On reconnect it re-reads everything, including what happened while away.
        expect(_row(page, alert_id)).to_have_count(1)
        page.context.close()
