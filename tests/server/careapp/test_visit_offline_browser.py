"""The care app's whole visit offline, in real Chromium: pulled, offline, reloaded, a visit
with one RED reading, a Barthel assessment and a voice note (Chromium's fake microphone),
reopened offline with everything waiting, then online: the server holds each entry once."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.sync_api import BrowserContext, Request
from sqlmodel import Session, col, select

from server.alerts.models import Alert, AlertKind
from server.care.models import Visit, VisitStatus, VoiceNote
from server.observations.models import Observation
from tests.server.careapp.conftest import (
    Team,
    idb_dump,
    ready,
    sign_in,
    wait_all_sent,
    wait_pulled,
)


def test_whole_visit_offline_reaches_the_server_once(
    context: BrowserContext, live_url: str, team: Team, session: Session
) -> None:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"{e.name}: {e.message} {e.stack}"))
    sign_in(page, live_url, team.cg.username)
    wait_pulled(page)
    assert [e["id"] for e in idb_dump(page, "elders")] == [str(team.elder.id)]
    assert len(idb_dump(page, "care_plans")) == 1

    # Offline from here: the shell comes from the precache, the data from IndexedDB.
    context.set_offline(True)
    page.reload()
    ready(page)
    page.wait_for_selector("#status[data-online='false']")
    page.click(f"a[href='#/elder/{team.elder.id}']")
    page.wait_for_selector("#start-visit")
    assert page.locator("a.tel").first.get_attribute("href") == "tel:0811111111"
    page.click("#start-visit")

    page.wait_for_selector(".visit-step[data-step='checklist']")
    boxes = page.locator(".checklist input[type=checkbox]")
    assert boxes.count() == 2
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.click("#visit-next")

    page.wait_for_selector(".visit-step[data-step='vitals']")
    page.fill("input[name=systolic]", "150")
    page.fill("input[name=diastolic]", "90")
    page.fill("input[name=pulse]", "88")
    page.fill("input[name=spo2]", "85")
    page.wait_for_selector("#vitals-triage[data-priority='RED']")
    page.click("#save-vitals")
    banner = page.wait_for_selector("#red-banner")
    assert "1669" in banner.inner_text()
    assert page.locator("#red-banner a[href='tel:1669']").count() == 1
    page.click("#visit-next")

    page.wait_for_selector(".visit-step[data-step='barthel']")
    for item, score in {
        "feeding": 2, "bathing": 1, "grooming": 1, "dressing": 1, "bowels": 2,
        "bladder": 2, "toilet_use": 1, "transfers": 2, "mobility": 2, "stairs": 0,
    }.items():  # fmt: skip
        page.select_option(f"select[name={item}]", str(score))
    assert "14" in page.inner_text("#barthel-total")
    page.click("#visit-next")

    page.wait_for_selector(".visit-step[data-step='notes']")
    page.fill("#visit-notes", "ทานยาครบ เวียนศีรษะเล็กน้อย")
    page.click("#voice-record")
    page.wait_for_timeout(1500)
    page.click("#voice-record")
    page.wait_for_selector("#voice audio")
    page.click("#visit-next")

    page.wait_for_selector(".visit-step[data-step='finish']")
    page.fill("#visit-problems", "SpO2 ต่ำ")
    page.fill("#visit-next-steps", "วัดซ้ำพรุ่งนี้")
    page.click("#finish-visit")
    page.wait_for_url(f"**/app/#/elder/{team.elder.id}")
    page.close()

    # Reopened, still offline: everything is there, waiting; the RED reading goes first.
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(f"{e.name}: {e.message} {e.stack}"))
    page.goto(f"{live_url}/app/#/outbox")
    ready(page)
    page.wait_for_selector("#outbox-list")
    outbox = sorted(idb_dump(page, "outbox"), key=lambda e: (-e["urgent"], e["seq"]))
    assert {e["type"] for e in outbox} == {"visit", "observation", "voice_note"}
    assert all(e["state"] == "waiting" for e in outbox)
    assert outbox[0]["type"] == "visit" and outbox[1]["type"] == "observation"
    assert outbox[1]["priority"] == "RED" and outbox[0]["urgent"] == 1
    visit_id = uuid.UUID(outbox[0]["id"])
    assert outbox[0]["data"]["status"] == "completed"
    assert len(outbox[0]["data"]["adl_items"]) == 10
    blobs = idb_dump(page, "blobs")
    assert len(blobs) == 1 and blobs[0]["blob"]["size"] > 0
    # The screen lists them in sending order: the RED reading's group first.
    shown = page.locator("#outbox-list > li").evaluate_all("els => els.map(e => e.dataset.type)")
    assert shown == ["visit", "observation", "voice_note"]
    assert page.locator("#red-banner").count() == 1

    sent: list[Request] = []

    def watch(request: Request) -> None:
        if request.method == "POST" and "/api/v1/" in request.url:
            sent.append(request)

    context.on("request", watch)
    context.set_offline(False)
    wait_all_sent(page)
    states = {e["type"]: e["state"] for e in idb_dump(page, "outbox")}
    assert states == {"visit": "sent", "observation": "sent", "voice_note": "sent"}

    session.expire_all()
    visit = session.get(Visit, visit_id)
    assert visit is not None and visit.status == VisitStatus.COMPLETED
    assert visit.adl_score == 14
    performed = session.exec(
        select(Visit).where(Visit.elder_id == team.elder.id, Visit.status == VisitStatus.COMPLETED)
    ).all()
    assert [v.id for v in performed] == [visit.id]
    observations = session.exec(
        select(Observation).where(col(Observation.visit_id) == visit.id)
    ).all()
    assert len(observations) == 1 and observations[0].priority == "RED"
    notes = session.exec(select(VoiceNote).where(col(VoiceNote.visit_id) == visit.id)).all()
    assert len(notes) == 1 and notes[0].stored and (notes[0].size or 0) > 0
    alerts = session.exec(
        select(Alert).where(Alert.elder_id == team.elder.id, Alert.kind == AlertKind.VITALS)
    ).all()
    assert len(alerts) == 1

    # A second sync sends nothing.
    sent.clear()
    page.click("#sync-now")
    page.wait_for_timeout(1500)
    pushed: list[Any] = [r.url for r in sent if "/sync" in r.url or "voice-notes" in r.url]
    assert pushed == []
    assert errors == []
