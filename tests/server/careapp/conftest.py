"""Fixtures for the care app: the built app, a care team, and Chromium with a fake microphone."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from sqlmodel import Session

from server.auth.models import Role, User
from server.careapp.router import DIST
from server.elders.models import Elder
from tests.support.browser import CHROMIUM_ARGS
from tests.support.records import make_elder
from tests.support.tiers import chromium_path

AXE = (
    Path(__file__).resolve().parents[3]
    / "caregiver_app"
    / "node_modules"
    / "axe-core"
    / "axe.min.js"
)


def app_built() -> None:
    if not (DIST / "index.html").is_file():
        pytest.fail("the care app is not built: run `make app`", pytrace=False)


@dataclass
class Team:
    cg: User
    cg2: User
    vol: User
    cm: User
    elder: Elder
    h: Callable[[User], dict[str, str]]


@pytest.fixture
def team(
    session: Session,
    users: dict[Role, User],
    make_user: Callable[..., User],
    auth: Callable[[User], dict[str, str]],
    client: TestClient,
) -> Team:
    cg2 = make_user(Role.CAREGIVER, "caregiver-2")
    elder = make_elder(
        session, caregiver_id=users[Role.CAREGIVER].id, volunteer_id=users[Role.VOLUNTEER].id,
        care_manager_id=users[Role.CARE_MANAGER].id, latitude=13.28, longitude=100.92,
        phone="0811111111", access_notes="ประตูหลังบ้าน", fall_risk=True, mobility="walks_with_aid",
    )  # fmt: skip
    plan = {
        "elder_id": str(elder.id),
        "goals": ["ความดันโลหิตอยู่ในเป้าหมาย"],
        "measurements": ["systolic", "diastolic", "pulse", "spo2", "adl"],
        "checklist": ["ตรวจยา", "ตรวจอาหาร"],
        "adl_every_days": 90,
    }
    cm = users[Role.CARE_MANAGER]
    response = client.post("/api/v1/care-plans", json=plan, headers=auth(cm))
    assert response.status_code == 201, response.text
    return Team(
        cg=users[Role.CAREGIVER], cg2=cg2, vol=users[Role.VOLUNTEER], cm=cm, elder=elder, h=auth
    )


@pytest.fixture(scope="module")
def media_browser() -> Iterator[Browser]:
    """Chromium with a fake microphone that needs no prompt."""
    app_built()
    args = [
        *CHROMIUM_ARGS,
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
    ]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=args)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def context(media_browser: Browser) -> Iterator[BrowserContext]:
    # The server's CSP forbids eval; Playwright's string predicates and axe-core injection
    # use it, so the test harness (not the app) is let past the policy.
    ctx = media_browser.new_context(viewport={"width": 800, "height": 1280}, bypass_csp=True)
    yield ctx
    ctx.close()


def sign_in(page: Page, base: str, username: str) -> None:
    from tests.server.conftest import TEST_PASSWORD

    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/app/**")
    ready(page)


def ready(page: Page) -> None:
    page.wait_for_selector("#app[data-ready='1']")
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=20_000)


def wait_pulled(page: Page) -> None:
    """Until the first pull is stored: the app marks it (Performance API) after its commit."""
    page.wait_for_function("performance.getEntriesByName('pull-end').length > 0", timeout=20_000)


def idb_dump(page: Page, store: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = page.evaluate(
        """(store) => new Promise((resolve, reject) => {
            const q = indexedDB.open('eldercare-care');
            q.onsuccess = () => { const db = q.result; const tx = db.transaction(store);
              const all = tx.objectStore(store).getAll();
              all.onsuccess = () => { resolve(all.result.map(r => {
                const o = {...r}; if (o.blob) o.blob = {size: r.blob.size, type: r.blob.type};
                return o; })); db.close(); };
              all.onerror = () => reject(all.error); };
            q.onerror = () => reject(q.error);
        })""",
        store,
    )
    return rows


def waiting_count(page: Page) -> int:
    return int(page.get_attribute("#waiting-count", "data-waiting") or "-1")


def wait_all_sent(page: Page, timeout: float = 40_000) -> None:
    """Until the outbox is empty and the app says it is online. The app retries with backoff
    (5-15 s after a failed round), so one failed round on a loaded machine can take 20 s."""
    try:
        page.wait_for_function(
            "() => document.querySelector('#waiting-count')?.dataset.waiting === '0'"
            " && document.querySelector('#status')?.dataset.online === 'true'",
            timeout=timeout,
        )
    except PlaywrightTimeoutError:
        outbox = [
            {k: v for k, v in e.items() if k in ("type", "state", "reason", "message")}
            for e in idb_dump(page, "outbox")
        ]
        raise AssertionError(
            f"not all sent within {timeout / 1000:.0f} s: waiting={waiting_count(page)}, "
            f"online={page.get_attribute('#status', 'data-online')}, outbox={outbox}"
        ) from None
