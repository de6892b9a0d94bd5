"""Background Sync in Chromium: an entry made offline reaches the server after the app's page
is gone. The page registers the "outbox" sync while offline; once the tablet is online the
service worker alone sends it (no page of the app is open to do it in the foreground)."""

from __future__ import annotations

import uuid

from playwright.sync_api import BrowserContext, Request
from sqlmodel import Session

from server.care.models import Visit
from tests.server.careapp.conftest import Team, idb_dump, sign_in, wait_pulled


def test_the_service_worker_sends_the_outbox_after_the_page_is_closed(
    context: BrowserContext, live_url: str, team: Team, session: Session
) -> None:
    page = context.new_page()
    sign_in(page, live_url, team.cg.username)
    wait_pulled(page)
    context.set_offline(True)
    page.wait_for_selector("#status[data-online='false']")
    page.click(f"a[href='#/elder/{team.elder.id}']")
    page.click("#start-visit")
    page.wait_for_selector(".visit-step[data-step='checklist']")
    waiting = [e for e in idb_dump(page, "outbox") if e["state"] == "waiting"]
    assert [e["type"] for e in waiting] == ["visit"]
    visit_id = uuid.UUID(waiting[0]["id"])
    assert page.evaluate("navigator.serviceWorker.ready.then((r) => r.sync.getTags())") == [
        "outbox"
    ]

    # The app's page goes away; a page outside the app keeps the browser context alive.
    other = context.new_page()
    page.close()
    other.goto("about:blank")
    pushes: list[Request] = []
    context.on(
        "request",
        lambda r: pushes.append(r) if r.method == "POST" and "/api/v1/sync" in r.url else None,
    )
    context.set_offline(False)

    session.expire_all()
    for _ in range(100):
        other.wait_for_timeout(200)
        session.expire_all()
        if session.get(Visit, visit_id) is not None:
            break
    visit = session.get(Visit, visit_id)
    assert visit is not None and visit.elder_id == team.elder.id
    # Sent by the service worker itself.
    assert pushes and all(r.service_worker is not None for r in pushes)
