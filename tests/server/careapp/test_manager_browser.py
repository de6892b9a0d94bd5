"""The care manager's screens in real Chromium: a sync conflict made by two field tablets is
decided field by field in the review queue (the elder ends with the chosen values, the audit
log names the decision); raising a systolic target recolours the last 30 days before saving,
and the next reading, taken on the care manager's own visit through the outbox, is triaged
with the new target by the tablet and the server alike; every screen passes axe-core in Thai
and English."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, BrowserContext, Page
from sqlmodel import Session, col, select

from server.audit.models import AuditEntry
from server.care.models import CarePlan, Consult, ReviewItem, ReviewStatus
from server.common.time import utcnow
from server.elders.models import Elder
from server.i18n import translate
from server.observations.models import Observation, TriageOverrides
from tests.server.careapp.conftest import Team, idb_dump, sign_in, wait_all_sent, wait_pulled
from tests.server.careapp.test_app_browser import axe_serious
from tests.support.alerts import raise_panic_alert
from tests.support.records import make_elder


def edit_contact(page: Page, elder_id: str, phone: str, address: str) -> None:
    page.goto(page.url.split("#")[0] + f"#/contact/{elder_id}")
    page.wait_for_selector("#contact-form")
    page.fill("#contact-form input[name=phone]", phone)
    page.fill("#contact-form textarea[name=address]", address)
    page.click("#contact-form button[type=submit]")
    page.wait_for_selector("#flash:not([hidden])")


def manager_page(browser: Browser, live_url: str, team: Team) -> tuple[BrowserContext, Page]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page = ctx.new_page()
    sign_in(page, live_url, team.cm.username)
    wait_pulled(page)
    return ctx, page


def test_a_conflict_from_two_tablets_is_decided_field_by_field(
    media_browser: Browser, live_url: str, team: Team, session: Session, client: TestClient
) -> None:
    tablets: list[tuple[BrowserContext, Page]] = []
    for user in (team.cg, team.vol):
        ctx = media_browser.new_context(viewport={"width": 800, "height": 1280}, bypass_csp=True)
        page = ctx.new_page()
        sign_in(page, live_url, user.username)
        wait_pulled(page)
        tablets.append((ctx, page))
    (cg_ctx, cg_page), (vol_ctx, vol_page) = tablets
    try:
        for ctx, _ in tablets:
            ctx.set_offline(True)
        edit_contact(cg_page, str(team.elder.id), "0822222222", "1 ถนนใหม่")
        edit_contact(vol_page, str(team.elder.id), "0833333333", "2 ซอยเดิม")
        vol_ctx.set_offline(False)
        wait_all_sent(vol_page)
        cg_ctx.set_offline(False)
        wait_all_sent(cg_page)
        assert [e["state"] for e in idb_dump(cg_page, "outbox")] == ["conflict"]
    finally:
        for ctx, _ in tablets:
            ctx.close()

    ctx, page = manager_page(media_browser, live_url, team)
    try:
        page.click("#nav-reviews")
        card = page.wait_for_selector(".review-item[data-kind='sync_conflict']")
        assert card is not None
        review_id = card.get_attribute("data-review")
        phone = page.locator(f".review-item[data-review='{review_id}'] tr[data-field='phone']")
        # Side by side: what both tablets started from, the caregiver's (theirs), the
        # volunteer's that reached the server first (ours).
        assert phone.locator("td.base").inner_text() == "0811111111"
        assert phone.locator("td.theirs").inner_text() == "0822222222"
        assert phone.locator("td.ours").inner_text() == "0833333333"
        assert axe_serious(page) == []
        phone.locator("input[value=theirs]").check()
        address = page.locator(f".review-item[data-review='{review_id}'] tr[data-field='address']")
        address.locator("input[value=ours]").check()
        page.fill(f".review-item[data-review='{review_id}'] input[name=note]", "โทรถามญาติแล้ว")
        page.click(f".review-item[data-review='{review_id}'] button.decide")
        page.wait_for_selector(f".review-item[data-review='{review_id}']", state="detached")
        # What is left is the volunteer's own change to the phone, shown for review.
        assert page.locator(".review-item[data-kind='sync_conflict']").count() == 0
        assert page.locator(".review-item[data-kind='volunteer_change']").count() == 1

        session.expire_all()
        elder = session.get(Elder, team.elder.id)
        assert elder is not None and (elder.phone, elder.address) == ("0822222222", "2 ซอยเดิม")
        assert review_id is not None
        item = session.get(ReviewItem, uuid.UUID(review_id))
        assert item is not None and item.status == ReviewStatus.RESOLVED
        decision = session.exec(
            select(AuditEntry).where(
                AuditEntry.action == "decide", AuditEntry.entity_id == review_id
            )
        ).one()
        assert decision.actor_id == team.cm.id
        assert decision.detail["choices"] == {"address": "ours", "phone": "theirs"}
        assert decision.detail["applied"] == ["phone"]
        assert (
            client.get(
                "/api/v1/reviews", params={"kind": "sync_conflict"}, headers=team.h(team.cm)
            ).json()
            == []
        )
    finally:
        ctx.close()


def reading(client: TestClient, team: Team, systolic: int, diastolic: int, days_ago: int) -> None:
    response = client.post(
        f"/api/v1/elders/{team.elder.id}/observations",
        json={"id": str(uuid.uuid4()), "source": "manual",
              "observed_at": (utcnow() - timedelta(days=days_ago)).isoformat(),
              "readings": [{"code": "systolic", "value": systolic},
                           {"code": "diastolic", "value": diastolic}]},
        headers=team.h(team.cg),
    )  # fmt: skip
    assert response.status_code == 201, response.text


def test_raising_a_systolic_target_recolours_then_triages_the_next_reading(
    media_browser: Browser, live_url: str, team: Team, session: Session, client: TestClient
) -> None:
    reading(client, team, 145, 85, days_ago=3)  # above the standard line: followed up
    reading(client, team, 118, 76, days_ago=10)  # fine either way
    reading(client, team, 170, 95, days_ago=40)  # older than the preview's 30 days
    ctx, page = manager_page(media_browser, live_url, team)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"{e.name}: {e.message}"))
    try:
        page.goto(f"{live_url}/app/#/m/plan/{team.elder.id}")
        page.wait_for_selector("#target-preview[data-changed='0'][data-count='2']")
        assert axe_serious(page) == []
        page.fill("input[name=bp_systolic_max]", "150")
        page.fill("input[name=bp_diastolic_max]", "90")
        row = page.wait_for_selector("#target-preview[data-changed='1'] tr.changed")
        assert row is not None
        assert (row.get_attribute("data-now"), row.get_attribute("data-new")) == ("GREEN", "none")
        page.click("#save-plan")
        page.wait_for_selector("#flash:not([hidden])")
        session.expire_all()
        plan = session.exec(select(CarePlan).where(CarePlan.elder_id == team.elder.id)).one()
        assert plan.targets["bp_target"] == {"systolic_max": 150, "diastolic_max": 90}
        overrides = session.get(TriageOverrides, team.elder.id)
        assert overrides is not None and overrides.overrides["bp_target"]["systolic_max"] == 150
        stored = [p for p in idb_dump(page, "care_plans") if p["elder_id"] == str(team.elder.id)]
        assert stored[0]["targets"]["bp_target"]["systolic_max"] == 150

        # The care manager's own visit: the reading goes through the outbox like anyone's.
        page.goto(f"{live_url}/app/#/elder/{team.elder.id}")
        page.click("#start-visit")
        page.wait_for_selector(".visit-step[data-step='checklist']")
        page.click("#visit-next")
        page.wait_for_selector(".visit-step[data-step='vitals']")
        page.fill("input[name=systolic]", "148")
        page.fill("input[name=diastolic]", "88")
        page.wait_for_selector("#vitals-triage[data-priority]")
        tablet = page.get_attribute("#vitals-triage", "data-priority")
        assert tablet == "none"  # within the new target; GREEN under the standard line
        page.click("#save-vitals")
        for step in ("barthel", "notes", "finish"):
            page.click("#visit-next")
            page.wait_for_selector(f".visit-step[data-step='{step}']")
        page.click("#finish-visit")
        page.wait_for_url(f"**/app/#/elder/{team.elder.id}")
        wait_all_sent(page)
        session.expire_all()
        newest = session.exec(
            select(Observation)
            .where(Observation.elder_id == team.elder.id, col(Observation.visit_id).is_not(None))
        ).one()  # fmt: skip
        assert newest.recorded_by == team.cm.id
        assert (newest.priority or "none") == tablet
        assert errors == []
    finally:
        ctx.close()


# What the screens look like; the caseload's flags are tested on both databases through
# the API (tests/server/manager).
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_every_manager_screen_passes_axe_in_thai_and_english(
    media_browser: Browser, live_url: str, team: Team, client: TestClient, session: Session
) -> None:
    reading(client, team, 165, 100, days_ago=1)  # a follow-up to show
    # An urgent question to the clinicians, unanswered for three hours: past its two.
    asked = client.post(
        "/api/v1/consults",
        json={"elder_id": str(team.elder.id), "question": "ความดันสูง", "urgency": "urgent"},
        headers=team.h(team.cg),
    )  # fmt: skip
    assert asked.status_code == 201, asked.text
    late = session.get(Consult, uuid.UUID(asked.json()["id"]))
    assert late is not None
    late.created_at = utcnow() - timedelta(hours=3)
    session.add(late)
    session.commit()
    visit = client.post(
        "/api/v1/visits",
        json={"elder_id": str(team.elder.id), "reason": "urgent", "assigned_to": str(team.cg.id),
              "due_by": (utcnow() - timedelta(days=1)).isoformat()},
        headers=team.h(team.cm),
    )  # fmt: skip
    assert visit.status_code == 201, visit.text
    change = client.patch(
        f"/api/v1/elders/{team.elder.id}/contact",
        json={"version": 1, "phone": "0844444444"}, headers=team.h(team.vol),
    )  # fmt: skip
    assert change.status_code == 200, change.text
    # A second home on the caseload, in another community, for the map; and a panic alert
    # for the record's alert list.
    neighbour = make_elder(
        session, care_manager_id=team.cm.id, community="ชุมชนบ้านใหม่", first_name="สมศรี",
        latitude=13.30, longitude=100.95,
    )  # fmt: skip
    raise_panic_alert(session, team.elder.id)
    ctx, page = manager_page(media_browser, live_url, team)
    found: dict[str, Any] = {}
    try:
        for lang in ("th", "en"):
            if lang == "en":
                page.click("#lang")
                page.wait_for_selector("html[lang='en']")
            page.goto(f"{live_url}/app/#/m/caseload")
            page.wait_for_selector(f"#caseload-table [data-elder='{team.elder.id}']")
            flags = page.locator(f"#caseload-table [data-elder='{team.elder.id}'] [data-flag]")
            assert set(flags.evaluate_all("els => els.map(e => e.dataset.flag)")) >= {
                "overdue", "followup", "alone",
            }  # fmt: skip
            found[f"caseload-{lang}"] = axe_serious(page)
            # The map: one marker per elder on the caseload, labelled with the top flag in
            # words; a marker opens the record. No tile server is set: a plain background.
            page.select_option("#community-filter", "")
            page.select_option("#flag-filter", "")
            page.click("#show-map")
            page.wait_for_selector(
                "#caseload-map-part:not([hidden]) #caseload-map[data-markers='2']"
            )
            assert page.is_hidden("#caseload-list")
            assert "no-tiles" in (page.get_attribute("#caseload-map", "class") or "")
            assert page.locator("#caseload-map img.leaflet-tile").count() == 0
            marker = page.locator(f"#caseload-map .pin[data-elder='{team.elder.id}']")
            assert marker.get_attribute("data-flag") == "overdue"
            assert marker.locator("[aria-hidden=true]").inner_text() == (
                "เลยนัด" if lang == "th" else "LATE"
            )
            assert page.locator(f"#caseload-map .pin[data-elder='{neighbour.id}']").count() == 1
            labels = page.locator("#caseload-map .community-label").all_inner_texts()
            assert sorted(labels) == sorted([team.elder.community, "ชุมชนบ้านใหม่"])
            found[f"map-{lang}"] = axe_serious(page)
            marker.click()
            page.wait_for_selector(f"#manager-record[data-elder='{team.elder.id}']")
            # The alert in the console's words, not its codes.
            alert = page.locator("#alerts [data-kind='panic']")
            assert alert.locator(".alert-kind").inner_text() == translate("alerts.kind.panic", lang)
            assert alert.locator(".alert-status").inner_text() == translate(
                "alerts.status.new", lang
            )
            assert (
                alert.locator("[data-action='created']")
                .inner_text()
                .endswith(translate("alerts.timeline.created", lang))
            )
            page.goto(f"{live_url}/app/#/m/caseload")
            page.click("#show-list")
            page.wait_for_selector(f"#caseload-table [data-elder='{team.elder.id}']")
            page.select_option("#community-filter", team.elder.community)
            page.select_option("#caseload-sort", "name")
            assert page.get_attribute("#caseload-table", "data-count") == "1"
            page.click("#nav-followups")
            page.wait_for_selector(".followup[data-kind='abnormal_reading']")
            page.wait_for_selector(f".overdue-consult[data-consult='{late.id}']")
            found[f"followups-{lang}"] = axe_serious(page)
            page.click("#nav-visits")
            page.wait_for_selector(f"tr[data-visit='{visit.json()['id']}'][data-overdue='true']")
            found[f"visits-{lang}"] = axe_serious(page)
            page.click("#nav-reviews")
            page.wait_for_selector(".review-item[data-kind='volunteer_change']")
            found[f"reviews-{lang}"] = axe_serious(page)
            page.goto(f"{live_url}/app/#/m/record/{team.elder.id}")
            page.wait_for_selector("#manager-record")
            found[f"record-{lang}"] = axe_serious(page)
            page.goto(f"{live_url}/app/#/m/plan/{team.elder.id}")
            page.wait_for_selector("#target-preview")
            found[f"plan-{lang}"] = axe_serious(page)
        # Closing a follow-up with a note of what was done.
        page.goto(f"{live_url}/app/#/m/followups")
        item = page.wait_for_selector(".followup")
        assert item is not None
        page.fill(".followup textarea[name=resolution]", "Phoned; re-measure booked")
        page.click(".followup button.close-followup")
        page.wait_for_selector(".followup", state="detached")
        assert {k: v for k, v in found.items() if v} == {}
    finally:
        ctx.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_background_pull_does_not_read_or_redraw_the_caseload_again(
    media_browser: Browser, live_url: str, team: Team, session: Session
) -> None:
    """The caseload (and its map) is the server's answer, read and audited once when drawn: the
    tablet's background pulls leave it standing; going offline and back draws it afresh."""
    make_elder(session, care_manager_id=team.cm.id, latitude=13.30, longitude=100.95)
    ctx, page = manager_page(media_browser, live_url, team)
    reads: list[str] = []
    pulls: list[str] = []
    page.on("request", lambda r: reads.append(r.url) if "/manager/caseload" in r.url else None)
    page.on("requestfinished", lambda r: pulls.append(r.url) if "/api/v1/sync" in r.url else None)
    try:
        # The app starts on the caseload (a reload): it is read once, not again when the
        # start-up pull ends.
        page.evaluate("history.replaceState(null, '', '/app/#/m/caseload')")
        page.reload()
        page.wait_for_function("performance.getEntriesByName('app-ready').length > 0")
        page.wait_for_selector(f"#caseload-table [data-elder='{team.elder.id}']")
        page.click("#show-map")
        page.wait_for_selector("#caseload-map[data-markers='2']")
        page.evaluate("document.getElementById('caseload-map').dataset.drawn = 'first'")
        audited = caseload_reads(session)
        assert audited == 2  # one row per elder shown
        for n in (1, 2):
            before = len(pulls)
            page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
            deadline = time.monotonic() + 15
            while len(pulls) == before and time.monotonic() < deadline:
                page.wait_for_timeout(100)
            assert len(pulls) > before, f"background pull {n} did not run"
            page.wait_for_timeout(500)  # a redraw, were there one, lands now
        assert len(reads) == 1, reads
        assert page.locator("#caseload-map[data-drawn='first']").count() == 1
        assert caseload_reads(session) == audited

        ctx.set_offline(True)
        page.wait_for_selector("#manager-offline", timeout=10_000)
        ctx.set_offline(False)  # back online: drawn afresh, still as a map
        page.wait_for_selector("#caseload-map[data-markers='2']:not([data-drawn])", timeout=20_000)
        assert len(reads) == 2, reads
    finally:
        ctx.close()


def caseload_reads(session: Session) -> int:
    session.expire_all()
    rows = session.exec(
        select(AuditEntry.id).where(AuditEntry.action == "read", AuditEntry.entity == "caseload")
    ).all()  # fmt: skip
    return len(rows)
