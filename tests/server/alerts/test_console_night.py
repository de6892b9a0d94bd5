"""The console as a dispatcher reads it at 3 a.m., in real Chromium: Thai-layout shortcuts,
labelled clocks, the card's order and the folded clinical block."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session

from server.alerts.models import Alert
from server.auth.models import Role, User
from server.common.time import utcnow
from server.realtime.hub import mark_changed
from tests.server.conftest import TEST_PASSWORD
from tests.support.alerts import raise_panic_alert as panic
from tests.support.alerts import raise_vitals_alert as abnormal_vitals
from tests.support.browser import login
from tests.support.records import make_elder

pytestmark = pytest.mark.browser

ERRORS: list[str] = []


def _console(browser: Browser, base_url: str, username: str) -> Page:
    context = browser.new_context(locale="th-TH", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.on("pageerror", lambda error: ERRORS.append(str(error)))
    login(page, base_url, username, TEST_PASSWORD)
    page.goto(f"{base_url}/console")
    expect(page.locator("#console")).to_have_attribute("data-connected", "true", timeout=10_000)
    return page


def _row(page: Page, alert_id: Any) -> Any:
    return page.locator(f'li.alert[data-id="{alert_id}"]')


def _thai_key(page: Page, code: str, key: str) -> None:
    """A key press as the Thai Kedmanee layout sends it: the physical key, a Thai character."""
    page.evaluate(
        """([code, key]) => document.dispatchEvent(new KeyboardEvent("keydown",
            {code: code, key: key, bubbles: true, cancelable: true}))""",
        [code, key],
    )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_shortcuts_work_with_the_thai_keyboard_layout(
    browser: Browser, live_url: str, session: Session, users: dict[Role, User]
) -> None:
    ERRORS.clear()
    page = _console(browser, live_url, users[Role.DISPATCHER].username)
    alert_id = panic(session, make_elder(session).id).alert_id
    row = _row(page, alert_id)
    expect(page.locator('#card button[data-action="acknowledge"]')).to_be_visible(timeout=5_000)
    _thai_key(page, "KeyA", "ฟ")  # A on the Thai layout
    expect(row).to_have_attribute("data-status", "acknowledged")
    # F ("ด" on the Thai layout) opens the false-alarm form.
    _thai_key(page, "KeyF", "ด")
    expect(page.locator("#reason-dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#reason-dialog")).to_be_hidden()
    # A real key press too: Chromium sends code KeyR whatever the layout.
    page.keyboard.press("KeyR")
    expect(row).to_have_count(0)
    assert ERRORS == []
    page.context.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_row_and_its_card_read_at_a_glance(
    browser: Browser, live_url: str, session: Session, users: dict[Role, User]
) -> None:
    ERRORS.clear()
    elder = make_elder(session, title="นาง", first_name="นงเยาว์", phone="0811111111",
                       allergies="แพ้ยาเพนิซิลลิน")  # fmt: skip
    page = _console(browser, live_url, users[Role.DISPATCHER].username)
    alert_id = abnormal_vitals(
        session, elder.id, {"systolic": 189, "diastolic": 109, "pulse": 135}
    ).alert_id
    row = _row(page, alert_id)
    expect(row).to_have_count(1, timeout=5_000)

    # The colour as a block with its word, what happened, who, and clocks that say what
    # they count.
    expect(row.locator(".prio-block")).to_have_text("เหลือง")
    expect(row.locator(".what")).to_contain_text("ความดันโลหิตสูงวิกฤต (189/109 มม.ปรอท)")
    expect(row.locator(".who")).to_contain_text("นางนงเยาว์")
    expect(row.locator(".elapsed")).to_have_text(re.compile(r"^รอ \d+:\d\d$"))
    expect(row.locator(".left")).to_have_text(re.compile(r"^ต้องถึงที่เกิดเหตุภายใน \d+:\d\d$"))

    card = page.locator("#card")
    expect(card.locator("a.call-elder")).to_have_attribute("href", "tel:0811111111")
    expect(card.locator(".script li").first).to_be_visible()
    expect(card.locator(".script a.tel")).to_have_attribute("href", "tel:1669")
    allergy = card.locator(".field.allergies .value")
    expect(allergy).to_have_text("แพ้ยาเพนิซิลลิน")
    colour = allergy.evaluate("n => getComputedStyle(n).backgroundColor")
    red, green, blue = (int(c) for c in re.findall(r"\d+", colour))
    assert red >= 200 and green <= 100 and blue <= 100, colour
    # The order a dispatcher needs: phone, what happened, script, actions, then the rest.
    order = card.evaluate(
        """c => ['.call-elder', '.happened', '.script', '.actions', '.field.allergies',
                 '.contacts', '.readings', '.timeline', 'details.clinical']
            .map(s => Array.prototype.indexOf.call(c.querySelectorAll('*'), c.querySelector(s)))"""
    )
    assert order == sorted(order) and -1 not in order, order
    # Cancel and false alarm sit apart from "acknowledge", in a smaller row.
    secondary = card.locator(".actions.secondary")
    expect(secondary.locator('[data-action="false-alarm"]')).to_have_text(re.compile("เตือนผิดพลาด"))
    expect(card.locator('.actions:not(.secondary) [data-action="false-alarm"]')).to_have_count(0)
    # The timeline starts with the signal reaching the centre.
    expect(card.locator(".timeline li").first).to_contain_text("ระบบได้รับสัญญาณ")
    # Clinical detail is folded for a dispatcher, the missing parameters in one line.
    clinical = card.locator("details.clinical")
    assert clinical.get_attribute("open") is None
    expect(clinical.locator("summary")).to_have_text("ข้อมูลทางคลินิก")
    clinical.locator("summary").click()
    expect(clinical.locator(".not-measured")).to_have_text(
        "ยังไม่ได้วัด: อัตราการหายใจ, ค่าออกซิเจนในเลือด, ระดับความรู้สึกตัว, อุณหภูมิร่างกาย"
    )

    # Past the target the clock says so, in its own words.
    alert = session.get(Alert, alert_id)
    assert alert is not None
    alert.due_at = utcnow() - timedelta(seconds=80)
    alert.version += 1
    session.add(alert)
    mark_changed(session, alert.id)
    session.commit()
    expect(row.locator(".left")).to_have_text(re.compile(r"^เกินเป้าหมาย 1:2\d$"), timeout=5_000)
    assert ERRORS == []
    page.context.close()
