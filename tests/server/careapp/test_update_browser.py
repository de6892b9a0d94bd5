"""A new build of the care app reaches a tablet that has it open: the new service worker
installs and waits, the app offers the update (between visits only), and one tap swaps the
worker and reloads the page under it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page

from server.careapp import router
from tests.server.careapp.conftest import Team, ready, sign_in, wait_pulled


@pytest.fixture
def dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the built app that the server serves, so a test can publish a new build."""
    copy = tmp_path / "dist"
    shutil.copytree(router.DIST, copy)
    monkeypatch.setattr(router, "DIST", copy)
    return copy


def publish_new_build(dist: Path) -> None:
    sw = dist / "sw.js"
    sw.write_text(sw.read_text(encoding="utf-8") + "\n// next build\n", encoding="utf-8")


def check_for_update(page: Page) -> None:
    page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")


def test_a_new_service_worker_is_offered_and_taken_with_one_tap(
    context: BrowserContext, live_url: str, team: Team, dist: Path
) -> None:
    page = context.new_page()
    sign_in(page, live_url, team.cg.username)
    wait_pulled(page)
    first = page.evaluate("navigator.serviceWorker.controller.scriptURL")
    assert page.locator("#update-ready").count() == 0

    publish_new_build(dist)
    check_for_update(page)
    page.wait_for_selector("#update-ready")
    assert page.evaluate("navigator.serviceWorker.getRegistration().then((r) => !!r.waiting)")

    with page.expect_navigation():
        page.click("#update-now")
    ready(page)
    # The page now runs under the new worker; none is left waiting, no prompt is shown.
    assert page.evaluate("navigator.serviceWorker.getRegistration().then((r) => !r.waiting)")
    assert page.evaluate("navigator.serviceWorker.controller.scriptURL") == first
    assert page.evaluate(
        "fetch('/app/sw.js').then((r) => r.text()).then((t) => t.includes('// next build'))"
    )
    assert page.locator("#update-ready").count() == 0


def test_no_update_is_offered_in_the_middle_of_a_visit(
    context: BrowserContext, live_url: str, team: Team, dist: Path
) -> None:
    page = context.new_page()
    sign_in(page, live_url, team.cg.username)
    wait_pulled(page)
    page.click(f"a[href='#/elder/{team.elder.id}']")
    page.click("#start-visit")
    page.wait_for_selector(".visit-step[data-step='checklist']")

    publish_new_build(dist)
    check_for_update(page)
    page.wait_for_function(
        "navigator.serviceWorker.getRegistration().then((r) => !!r.waiting)", timeout=20_000
    )
    page.wait_for_timeout(500)
    assert page.locator("#update-ready").count() == 0
