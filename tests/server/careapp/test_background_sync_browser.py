"""Background Sync in Chromium: an entry made offline reaches the server after the app's page
is gone. The page registers the "outbox" sync while offline; once the tablet is online the
service worker alone sends it (no page of the app is open to do it in the foreground)."""

from __future__ import annotations

import uuid

from playwright.sync_api import BrowserContext, Page, Request, Route
from sqlmodel import Session

from server.care.models import Visit
from tests.server.careapp.conftest import (
    Team,
    idb_dump,
    sign_in,
    wait_all_sent,
    wait_pulled,
    waiting_count,
)


def _visit_left_offline(
    context: BrowserContext, live_url: str, team: Team
) -> tuple[Page, uuid.UUID]:
    """A visit started offline, its page closed: returns a page outside the app (it keeps the
    browser context alive) and the visit's id."""
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
    assert page.evaluate("navigator.serviceWorker.ready.then((r) => r.sync.getTags())") == [
        "outbox"
    ]
    other = context.new_page()
    page.close()
    other.goto("about:blank")
    return other, uuid.UUID(waiting[0]["id"])


def _stored(session: Session, page: Page, visit_id: uuid.UUID, *, within_s: float) -> Visit | None:
    for _ in range(int(within_s / 0.2)):
        page.wait_for_timeout(200)
        session.expire_all()
        if (visit := session.get(Visit, visit_id)) is not None:
            return visit
    return None


def _sync_posts(context: BrowserContext) -> list[Request]:
    pushes: list[Request] = []
    context.on(
        "request",
        lambda r: pushes.append(r) if r.method == "POST" and "/api/v1/sync" in r.url else None,
    )
    return pushes


def test_the_service_worker_sends_the_outbox_after_the_page_is_closed(
    context: BrowserContext, live_url: str, team: Team, session: Session
) -> None:
    other, visit_id = _visit_left_offline(context, live_url, team)
    pushes = _sync_posts(context)
    context.set_offline(False)

    visit = _stored(session, other, visit_id, within_s=40)
    assert visit is not None and visit.elder_id == team.elder.id
    # Sent by the service worker itself.
    assert pushes and all(r.service_worker is not None for r in pushes)


def test_a_failed_first_send_is_tried_again_within_the_sync_event(
    context: BrowserContext, live_url: str, team: Team, session: Session
) -> None:
    """The browser can fire "sync" while the link still fails (it comes back in steps). The
    event must not end as if it had sent: the service worker tries again on its own."""
    other, visit_id = _visit_left_offline(context, live_url, team)
    failed: list[str] = []

    def first_fails(route: Route) -> None:
        if route.request.method == "POST" and not failed:
            failed.append(route.request.url)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    context.route("**/api/v1/sync", first_fails)
    pushes = _sync_posts(context)
    context.set_offline(False)

    visit = _stored(session, other, visit_id, within_s=40)
    assert failed, "the first send was not intercepted"
    assert visit is not None and visit.elder_id == team.elder.id
    assert len(pushes) >= 2 and all(r.service_worker is not None for r in pushes)


def test_an_open_page_follows_what_another_context_does_to_the_outbox(
    context: BrowserContext, live_url: str, team: Team
) -> None:
    """The service worker and other tabs write the outbox too. A send finished by the service
    worker once left the open page saying one record still waited, until something else
    happened on that page; here another tab adds a record while nothing else happens."""
    watching = context.new_page()
    sign_in(watching, live_url, team.cg.username)
    wait_pulled(watching)
    context.set_offline(True)
    watching.wait_for_selector("#status[data-online='false']")
    assert waiting_count(watching) == 0

    other = context.new_page()
    other.goto(watching.url.split("#")[0] + f"#/elder/{team.elder.id}")
    other.click("#start-visit")
    other.wait_for_selector(".visit-step[data-step='checklist']")
    watching.wait_for_selector("#waiting-count[data-waiting='1']", timeout=5_000)

    context.set_offline(False)
    wait_all_sent(watching)
    wait_all_sent(other)
