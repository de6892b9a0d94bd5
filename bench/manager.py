"""The care manager's screens (caregiver_app/src/manager/), in real Chromium on loopback.

    python bench/manager.py             # SQLite and PostgreSQL (if 127.0.0.1:5432 answers)
    python bench/manager.py sqlite

A care manager with the programme's 300 elders in 10 communities: two weeks of daily readings
each (some RED and YELLOW), an overdue visit for one in five, and 200 open review items
(120 sync conflicts of two fields, 80 volunteers' changes).

1. `GET /api/v1/manager/caseload` from the page (fetch to JSON parsed).
2. The caseload screen: hash change to the 300-row table drawn (fetch, build, one frame).
3. `GET /api/v1/manager/reviews` with 200 items, from the page.
4. The review queue screen: hash change to the queue drawn (200 items: the first 50 cards,
   the first 10 open side by side; "show more" adds the next 50).
5. The caseload as a map: hash change to all 300 homes placed as markers (Leaflet, no tiles:
   the programme's default), its code already loaded by the warm-up.

Figures the issue sets: caseload of 300 renders <= 500 ms (as a table and as a map); review
queue of 200 <= 500 ms.
Needs `make app` first.
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from playwright.sync_api import Page  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bench._common import (  # noqa: E402
    app_bench_start,
    database,
    logged_in_page,
    make_elders,
    serve,
    summary,
    wait_for_pull,
)
from server.auth.models import Role, User  # noqa: E402
from server.auth.service import hash_password  # noqa: E402
from server.care.models import ReviewItem, ReviewKind, Visit, VisitReason  # noqa: E402
from server.config import Settings  # noqa: E402
from server.main import create_app  # noqa: E402
from server.observations.models import Observation, ObservationSource  # noqa: E402

ELDERS = 300
DAYS = 14
REVIEWS = 200
RUNS = 7
PASSWORD = "bench-password-1"


def seed(url: str, data_dir: Path) -> Any:
    settings = Settings(env="test", database_url=url, secret_key="c" * 48, data_dir=data_dir)
    app = create_app(settings)
    now = datetime.now(UTC)
    with Session(app.state.engine, expire_on_commit=False) as session:
        cm = User(username="cm", full_name="Care manager", role=Role.CARE_MANAGER,
                  password_hash=hash_password(PASSWORD))  # fmt: skip
        cgs = [
            User(username=f"cg{n}", full_name=f"Caregiver {n}", role=Role.CAREGIVER,
                 password_hash="x")
            for n in range(15)
        ]  # fmt: skip
        vol = User(username="vol", full_name="Volunteer", role=Role.VOLUNTEER, password_hash="x")
        session.add_all([cm, vol, *cgs])
        session.commit()
        elders = make_elders(session, ELDERS)
        for n, elder in enumerate(elders):
            elder.care_manager_id = cm.id
            elder.caregiver_id = cgs[n % len(cgs)].id
            elder.volunteer_id = vol.id
            elder.community = f"ชุมชนที่ {n % 10 + 1}"
            # Homes spread over ten villages a few kilometres apart, as in a municipality.
            elder.latitude = 13.28 + (n % 10) * 0.01 + (n // 10) * 0.0002
            elder.longitude = 100.92 + (n % 10) * 0.008 + (n % 7) * 0.0003
            elder.adl_score = n % 21
            session.add(elder)
            for day in range(DAYS):
                priority = "RED" if n % 37 == 0 and day == 0 else (
                    "YELLOW" if n % 11 == 0 and day < 3 else ("GREEN" if day % 5 == 0 else None)
                )  # fmt: skip
                session.add(Observation(
                    elder_id=elder.id, source=ObservationSource.DEVICE,
                    observed_at=now - timedelta(days=day, hours=2), priority=priority,
                ))  # fmt: skip
            if n % 5 == 0:
                session.add(Visit(elder_id=elder.id, reason=VisitReason.PLAN,
                                  assigned_to=elder.caregiver_id,
                                  due_by=now - timedelta(days=n % 4 + 1)))  # fmt: skip
            session.add(Visit(elder_id=elder.id, reason=VisitReason.PLAN,
                              assigned_to=elder.caregiver_id,
                              due_by=now + timedelta(days=n % 14 + 1)))  # fmt: skip
        session.commit()
        for n in range(REVIEWS):
            elder = elders[n % ELDERS]
            if n < 120:
                detail: dict[str, Any] = {
                    "entity": "elder", "record_id": str(uuid.uuid4()), "base_version": 1,
                    "server_version": 2,
                    "client": {"phone": f"08{n:08d}", "address": f"{n} ซอยใหม่"},
                    "base": {"phone": None, "address": elder.address},
                    "server": {"phone": "0800000000", "address": elder.address},
                }  # fmt: skip
                kind = ReviewKind.SYNC_CONFLICT
            else:
                detail = {"changes": {"lives_alone": {"from": True, "to": False},
                                      "phone": {"from": None, "to": f"09{n:08d}"}},
                          "version": 2}  # fmt: skip
                kind = ReviewKind.VOLUNTEER_CHANGE
            session.add(ReviewItem(kind=kind, elder_id=elder.id, entity="elder",
                                   entity_id=str(elder.id), detail=detail, raised_by=vol.id))  # fmt: skip
        session.commit()
    return app


def fetch_ms(page: Page, path: str) -> float:
    value: float = page.evaluate(
        """async (path) => { const t0 = performance.now();
          const r = await fetch(path, {headers: {Accept: 'application/json'}});
          await r.json(); return performance.now() - t0; }""",
        path,
    )
    return value


def screen_ms(page: Page, hash_: str, selector: str) -> float:
    """From the hash change to the screen in the DOM and one frame drawn."""
    page.goto(page.url.split("#")[0] + "#/outbox")
    page.wait_for_selector("#caseload, #review-list", state="detached")
    value: float = page.evaluate(
        """async ([hash, selector]) => { const t0 = performance.now(); location.hash = hash;
          await new Promise((r) => { const tick = () => document.querySelector(selector)
            ? r(null) : requestAnimationFrame(tick); tick(); });
          await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
          return performance.now() - t0; }""",
        [hash_, selector],
    )
    return value


def run(kind: str) -> None:
    with tempfile.TemporaryDirectory() as tmp, database(kind) as url:
        app = seed(url, Path(tmp))
        with serve(app) as base, logged_in_page(base, "cm", PASSWORD) as (_, page):
            wait_for_pull(page, 180_000)
            # One warm-up of each, then the measured runs.
            screen_ms(page, "#/m/caseload", f"#caseload-table[data-count='{ELDERS}']")
            screen_ms(page, "#/m/reviews", f"#review-list[data-total='{REVIEWS}'][data-count]")
            caseload_api = [fetch_ms(page, "/api/v1/manager/caseload") for _ in range(RUNS)]
            caseload = [
                screen_ms(page, "#/m/caseload", f"#caseload-table[data-count='{ELDERS}']")
                for _ in range(RUNS)
            ]
            queue_path = "/api/v1/manager/reviews?kind=sync_conflict&kind=volunteer_change"
            queue_api = [fetch_ms(page, queue_path) for _ in range(RUNS)]
            queue = [
                screen_ms(page, "#/m/reviews", f"#review-list[data-total='{REVIEWS}'][data-count]")
                for _ in range(RUNS)
            ]
            placed = "#caseload-map[data-markers]"
            screen_ms(page, "#/m/caseload", f"#caseload-table[data-count='{ELDERS}']")
            page.click("#show-map")  # the screen remembers the choice: the map comes first
            page.wait_for_selector(placed)
            markers = page.locator("#caseload-map .pin").count()
            on_map = [screen_ms(page, "#/m/caseload", placed) for _ in range(RUNS)]
    print(f"\n[{kind}]")
    print(f"  caseload API ({ELDERS} elders):        {summary(caseload_api)}")
    print(f"  caseload screen drawn ({ELDERS} rows): {summary(caseload)}")
    print(f"  review queue API ({REVIEWS} items):    {summary(queue_api)}")
    print(f"  review queue drawn (first 50 of {REVIEWS}): {summary(queue)}")
    print(f"  caseload map drawn ({markers} markers):  {summary(on_map)}")


def main() -> None:
    app_bench_start("bench/manager.py")
    for kind in sys.argv[1:] or ["sqlite", "postgresql"]:
        run(kind)


if __name__ == "__main__":
    main()
