"""The caseload map under the server's own Content-Security-Policy in real Chromium. With no
tile server set the markers stand on a plain background and nothing is fetched from
elsewhere; with one, its tiles load from its origin (the policy names it) and Leaflet's
positioning (element.style, not inline CSS) raises no violation either way."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page

from server.config import Settings
from tests.server.careapp.conftest import Team
from tests.server.conftest import TEST_PASSWORD, TEST_SECRET
from tests.server.test_csp_browser import WATCH_CSP
from tests.support.live import free_port, serve

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(db_url: str, tmp_path: Path, port: int, tiles: bool) -> Settings:
    # Another origin than the page's (127.0.0.1): the policy must name it for tiles to load.
    url = f"http://localhost:{port}/map-tiles/{{z}}/{{x}}/{{y}}.png" if tiles else ""
    return Settings(
        env="test", database_url=db_url, secret_key=TEST_SECRET, data_dir=tmp_path / "data",
        map_tile_url=url, map_tile_attribution="© OpenStreetMap" if tiles else "",
    )  # fmt: skip


@pytest.fixture
def live_url(app: FastAPI, port: int) -> Iterator[str]:
    with serve(app, port) as url:
        yield url


def _sign_in(page: Page, base: str, username: str) -> None:
    # Selectors only: Playwright's function predicates need eval, which the policy forbids.
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/app/**")
    page.wait_for_selector("#app[data-ready='1']")


@pytest.mark.parametrize("tiles", [False, True])
def test_the_caseload_map_runs_under_the_policy(
    media_browser: Browser, live_url: str, team: Team, port: int, tiles: bool
) -> None:
    ctx = media_browser.new_context(viewport={"width": 1280, "height": 800})
    ctx.add_init_script(WATCH_CSP)
    page = ctx.new_page()
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text))
    tile_requests: list[str] = []
    page.on("request", lambda r: tile_requests.append(r.url) if "/map-tiles/" in r.url else None)
    try:
        _sign_in(page, live_url, team.cm.username)
        page.goto(f"{live_url}/app/#/m/caseload")
        page.wait_for_selector(f"#caseload-table [data-elder='{team.elder.id}']", timeout=20_000)
        page.click("#show-map")
        page.wait_for_selector("#caseload-map[data-markers='1']")
        page.wait_for_selector(f"#caseload-map .pin[data-elder='{team.elder.id}']")
        if tiles:
            page.wait_for_selector("#caseload-map img.leaflet-tile", state="attached")
            page.wait_for_selector("#caseload-map .leaflet-control-attribution")
        time.sleep(1)  # tiles and late style insertions land now
        problems: list[str] = page.evaluate("() => window.__csp")
        problems += [m for m in messages if "Content Security Policy" in m]
        assert problems == []
        if tiles:
            assert tile_requests and all(
                u.startswith(f"http://localhost:{port}/map-tiles/") for u in tile_requests
            )
        else:
            assert tile_requests == []
            assert page.locator("#caseload-map img").count() == 0
        # A marker opens the elder's record (Leaflet's click, under the policy too).
        page.click(f"#caseload-map .pin[data-elder='{team.elder.id}']")
        page.wait_for_selector(f"#manager-record[data-elder='{team.elder.id}']")
    finally:
        ctx.close()
