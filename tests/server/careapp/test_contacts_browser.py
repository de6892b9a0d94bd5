"""An elder's emergency contacts edited on the tablet (a volunteer's, offline): one changed,
one added, one removed; the list reaches the server as edited, and the screen passes axe."""

from __future__ import annotations

from playwright.sync_api import BrowserContext
from sqlmodel import Session, col, select

from server.elders.models import EmergencyContact
from tests.server.careapp.conftest import Team, sign_in, wait_all_sent, wait_pulled
from tests.server.careapp.test_app_browser import axe_serious


def test_a_volunteer_edits_emergency_contacts_offline(
    context: BrowserContext, live_url: str, team: Team, session: Session
) -> None:
    for existing in session.exec(
        select(EmergencyContact).where(col(EmergencyContact.elder_id) == team.elder.id)
    ):
        session.delete(existing)
    for position, (name, relation, phone) in enumerate(
        [("สมชาย ใจดี", "บุตร", "0891111111"), ("สมหญิง ใจดี", "หลาน", "0892222222")]
    ):
        session.add(EmergencyContact(elder_id=team.elder.id, name=name, relation=relation,
                                     phone=phone, position=position))  # fmt: skip
    session.commit()

    page = context.new_page()
    sign_in(page, live_url, team.vol.username)
    wait_pulled(page)
    context.set_offline(True)
    page.goto(page.url.split("#")[0] + f"#/contact/{team.elder.id}")
    rows = page.locator("#emergency-contacts li.person")
    rows.first.wait_for()
    assert rows.count() == 2
    assert axe_serious(page) == []

    rows.nth(0).locator("[data-person=phone]").fill("0893333333")
    rows.nth(1).locator("button").click()  # removed
    page.click("#add-contact")
    new = rows.nth(1)
    new.locator("[data-person=name]").fill("ประยุทธ ขยัน")
    new.locator("[data-person=relation]").fill("เพื่อนบ้าน")
    new.locator("[data-person=phone]").fill("0894444444")
    new.locator("[data-person=notify_on_alerts]").uncheck()
    page.click("#contact-form button[type=submit]")
    page.wait_for_selector("#flash:not([hidden])")

    context.set_offline(False)
    wait_all_sent(page)
    session.expire_all()
    stored = session.exec(
        select(EmergencyContact)
        .where(col(EmergencyContact.elder_id) == team.elder.id)
        .order_by(col(EmergencyContact.position))
    ).all()
    assert [(c.name, c.relation, c.phone, c.notify_on_alerts) for c in stored] == [
        ("สมชาย ใจดี", "บุตร", "0893333333", True),
        ("ประยุทธ ขยัน", "เพื่อนบ้าน", "0894444444", False),
    ]
