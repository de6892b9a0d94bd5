"""The care app in real Chromium: a volunteer's tablet holds nothing clinical, check-in in two
taps; two tablets' offline edits of one elder end in one conflict shown to the user and in
the review queue; a refused record shows the server's reason and is kept; axe-core finds no
serious or critical violation on any screen; login sends each care role to /app/."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import BrowserContext, Page
from sqlmodel import Session, select

from server.auth.models import Role, User
from server.care.models import Checkin
from server.elders.models import Elder
from tests.server.careapp.conftest import (
    AXE,
    Team,
    idb_dump,
    ready,
    sign_in,
    wait_all_sent,
    wait_pulled,
)

# Nothing about health: what a volunteer's tablet must never hold.
CLINICAL = {
    "chronic_conditions", "medications", "allergies", "adl_score", "adl_group", "mobility",
    "fall_risk", "falls_past_year", "devices", "consents", "national_id", "birth_date",
}  # fmt: skip


def axe_serious(page: Page) -> list[dict[str, Any]]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa']}})).violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target)}))"""
    )
    return result


def small_targets(page: Page) -> list[str]:
    """Controls a finger must hit that are under 48 CSS pixels high (a checkbox counts by its
    label, which is the target)."""
    found: list[str] = page.evaluate(
        """() => [...document.querySelectorAll(
              'button, a.button, select, textarea, input:not([type=checkbox]), label.check')]
            .filter(e => e.offsetParent !== null && e.getBoundingClientRect().height < 47.5)
            .map(e => e.outerHTML.slice(0, 80))"""
    )
    return found


def edit_phone(page: Page, elder_id: str, phone: str) -> None:
    page.goto(page.url.split("#")[0] + f"#/contact/{elder_id}")
    page.wait_for_selector("#contact-form")
    page.fill("#contact-form input[name=phone]", phone)
    page.click("#contact-form button[type=submit]")
    page.wait_for_selector("#flash:not([hidden])")


def test_volunteer_tablet_holds_nothing_clinical_and_checks_in_in_two_taps(
    context: BrowserContext, live_url: str, team: Team, session: Session
) -> None:
    page = context.new_page()
    sign_in(page, live_url, team.vol.username)
    wait_pulled(page)
    elders = idb_dump(page, "elders")
    assert [e["id"] for e in elders] == [str(team.elder.id)]
    assert elders[0]["phone"] == "0811111111"
    leaked = {k for e in elders for k, v in e.items() if k in CLINICAL and v is not None}
    assert leaked == set()
    stores = ("care_plans", "visits", "observations", "history", "notes", "voice_notes")
    for store in (*stores, "consults"):
        assert idb_dump(page, store) == [], store
    # Nor on the screen.
    body = page.inner_text("body")
    assert "เบาหวาน" not in body and "Metformin" not in body and "Penicillin" not in body
    assert axe_serious(page) == []

    context.set_offline(True)
    page.click(f"[data-seen-well='{team.elder.id}']")
    assert idb_dump(page, "outbox") == []  # one tap records nothing
    page.click(f"[data-confirm='{team.elder.id}']")
    page.wait_for_selector("#waiting-count[data-waiting='1']")
    context.set_offline(False)
    wait_all_sent(page)
    session.expire_all()
    rows = session.exec(select(Checkin).where(Checkin.elder_id == team.elder.id)).all()
    assert len(rows) == 1 and rows[0].seen_well and rows[0].volunteer_id == team.vol.id
    page.goto(f"{live_url}/app/#/contact/{team.elder.id}")
    page.wait_for_selector("#contact-form")
    assert page.locator("#contact-form input[name=phone]").input_value() == "0811111111"
    assert axe_serious(page) == []


def test_two_tablets_edit_one_elder_offline_one_conflict(
    media_browser: Any, live_url: str, team: Team, session: Session, client: TestClient
) -> None:
    tablets: list[tuple[BrowserContext, Page]] = []
    for user in (team.cg, team.vol):
        ctx = media_browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
        page = ctx.new_page()
        sign_in(page, live_url, user.username)
        wait_pulled(page)
        tablets.append((ctx, page))
    try:
        for ctx, _ in tablets:
            ctx.set_offline(True)
        (cg_ctx, cg_page), (vol_ctx, vol_page) = tablets
        edit_phone(cg_page, str(team.elder.id), "0822222222")
        edit_phone(vol_page, str(team.elder.id), "0833333333")
        vol_ctx.set_offline(False)
        wait_all_sent(vol_page)
        cg_ctx.set_offline(False)
        wait_all_sent(cg_page)

        states = {e["type"]: e["state"] for e in idb_dump(cg_page, "outbox")}
        assert states == {"elder_update": "conflict"}
        assert {e["state"] for e in idb_dump(vol_page, "outbox")} == {"sent"}
        cg_page.goto(f"{live_url}/app/#/outbox")
        item = cg_page.wait_for_selector(".outbox-item[data-state='conflict']")
        text = item.inner_text()
        assert "0822222222" in text  # mine
        assert "0833333333" in text  # the server's, after the next pull
        assert "ผู้จัดการการดูแล" in text  # what happens next: the care manager's queue
        assert axe_serious(cg_page) == []

        session.expire_all()
        elder = session.get(Elder, team.elder.id)
        assert elder is not None and elder.phone == "0833333333"
        queue = client.get(
            "/api/v1/reviews", params={"kind": "sync_conflict"}, headers=team.h(team.cm)
        ).json()
        assert len(queue) == 1 and queue[0]["elder_id"] == str(team.elder.id)
        assert queue[0]["detail"]["client"] == {"phone": "0822222222"}
    finally:
        for ctx, _ in tablets:
            ctx.close()


def test_a_refused_record_shows_the_reason_and_is_kept(
    context: BrowserContext, live_url: str, team: Team
) -> None:
    page = context.new_page()
    sign_in(page, live_url, team.cg.username)
    wait_pulled(page)
    edit_phone(page, str(team.elder.id), "call my son")
    wait_all_sent(page)
    page.goto(f"{live_url}/app/#/outbox")
    item = page.wait_for_selector(".outbox-item[data-state='refused']")
    assert "phone" in item.inner_text()
    entries = idb_dump(page, "outbox")
    assert len(entries) == 1 and entries[0]["state"] == "refused"
    assert entries[0]["data"] == {"phone": "call my son"} and entries[0]["message"]
    page.reload()
    ready(page)
    assert page.locator(".outbox-item[data-state='refused']").count() == 1


def test_every_caregiver_screen_has_no_serious_accessibility_violation(
    context: BrowserContext, live_url: str, team: Team
) -> None:
    page = context.new_page()
    sign_in(page, live_url, team.cg.username)
    wait_pulled(page)
    found: dict[str, list[dict[str, Any]]] = {}
    found["today"] = axe_serious(page)
    assert small_targets(page) == []
    page.click(f"a[href='#/elder/{team.elder.id}']")
    page.wait_for_selector("#start-visit")
    found["elder"] = axe_serious(page)
    page.click("#start-visit")
    for step in ("checklist", "vitals", "barthel", "notes", "finish"):
        page.wait_for_selector(f".visit-step[data-step='{step}']")
        if step == "vitals":
            page.fill("input[name=spo2]", "85")
            page.wait_for_selector("#vitals-triage[data-priority='RED']")
            page.click("#save-vitals")
            page.wait_for_selector("#red-banner")
        found[step] = axe_serious(page)
        assert small_targets(page) == [], step
        if step != "finish":
            page.click("#visit-next")
    page.goto(f"{live_url}/app/#/outbox")
    page.wait_for_selector("#outbox-list")
    found["outbox"] = axe_serious(page)
    page.click("#lang")
    page.wait_for_selector("html[lang='en']")
    found["outbox-en"] = axe_serious(page)
    page.goto(f"{live_url}/login")
    found["login"] = axe_serious(page)
    assert {k: v for k, v in found.items() if v} == {}


@pytest.mark.parametrize("role", [Role.CARE_MANAGER, Role.CLINICIAN])
def test_login_sends_the_care_roles_to_the_app(
    context: BrowserContext, live_url: str, users: dict[Role, User], role: Role
) -> None:
    page = context.new_page()
    sign_in(page, live_url, users[role].username)
    assert page.url.startswith(f"{live_url}/app/")
    manifest = page.evaluate("fetch('/app/manifest.webmanifest').then(r => r.json())")
    assert manifest["scope"] == "/app/" and any(i["sizes"] == "512x512" for i in manifest["icons"])


def test_an_expired_sign_in_keeps_the_outbox_and_sends_after_signing_in_again(
    context: BrowserContext, live_url: str, team: Team, session: Session
) -> None:
    page = context.new_page()
    sign_in(page, live_url, team.vol.username)
    wait_pulled(page)
    context.set_offline(True)
    page.click(f"[data-seen-well='{team.elder.id}']")
    page.click(f"[data-confirm='{team.elder.id}']")
    page.wait_for_selector("#waiting-count[data-waiting='1']")
    context.clear_cookies()  # the session ends while the tablet is offline
    context.set_offline(False)
    page.wait_for_selector("#signed-out")
    assert [e["state"] for e in idb_dump(page, "outbox")] == ["waiting"]
    session.expire_all()
    assert session.exec(select(Checkin)).all() == []

    page.click("#signed-out a")
    page.fill("input[name=username]", team.vol.username)
    from tests.server.conftest import TEST_PASSWORD

    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_url}/app/**")
    ready(page)
    wait_all_sent(page)
    assert [e["state"] for e in idb_dump(page, "outbox")] == ["sent"]
    session.expire_all()
    assert len(session.exec(select(Checkin)).all()) == 1
