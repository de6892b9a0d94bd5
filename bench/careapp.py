"""The care app's figures (caregiver_app/, served at /app/), in real Chromium on loopback.

    python bench/careapp.py             # SQLite and PostgreSQL (if 127.0.0.1:5432 answers)
    python bench/careapp.py sqlite

1. The app shell's size: JavaScript and CSS gzipped (the service worker apart).
2. A caregiver with 40 elders, each with a year of daily readings (BP, pulse, SpO2): first
   load after login (navigation start to the first screen, then to the pulled data), the
   pull itself (`GET /api/v1/sync` into IndexedDB) and what IndexedDB then holds.
3. A one-year history chart drawn (uPlot, four charts on the elder page).
4. Offline cold start: a new page with no network, navigation start to Today.
5. A week's 500 records (50 visits, 300 reading sets, 100 notes, 50 visit completions) put in
   the outbox offline, then online: outbox drain start to end (POST /api/v1/sync, end to end).

Times come from the page's Performance API marks (first-render, pull-start/-end,
drain-start/-end). Needs `make app` first.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sqlalchemy as sa  # noqa: E402
from playwright.sync_api import Page, sync_playwright  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from bench._common import database, machine, make_elders, serve  # noqa: E402
from bench.sync import week_of_records  # noqa: E402
from server.auth.models import Role, User  # noqa: E402
from server.auth.service import hash_password  # noqa: E402
from server.careapp.router import DIST  # noqa: E402
from server.config import Settings  # noqa: E402
from server.main import create_app  # noqa: E402
from server.observations import service as observations  # noqa: E402
from server.observations.models import ObservationSource  # noqa: E402
from server.sync import pull as sync_pull  # noqa: E402
from server.sync import router as sync_router  # noqa: E402
from tests.support.browser import CHROMIUM_ARGS  # noqa: E402
from tests.support.tiers import chromium_path  # noqa: E402

ELDERS = 40
DAYS = 365
PASSWORD = "bench-password-1"


def shell_size() -> str:
    parts = []
    for pattern in ("assets/*.js", "assets/*.css", "sw.js"):
        for path in sorted(DIST.glob(pattern)):
            raw = path.read_bytes()
            parts.append(
                f"{path.name}: {len(raw) / 1024:.0f} KB, {len(gzip.compress(raw, 9)) / 1024:.1f} KB gzipped"
            )
    return "; ".join(parts)


def seed(url: str, data_dir: Path) -> tuple[Any, list[str]]:
    settings = Settings(env="test", database_url=url, secret_key="c" * 48, data_dir=data_dir)
    app = create_app(settings)
    with Session(app.state.engine, expire_on_commit=False) as session:
        cg = User(username="cg", full_name="Caregiver", role=Role.CAREGIVER,
                  password_hash=hash_password(PASSWORD))  # fmt: skip
        session.add(cg)
        session.commit()
        elders = make_elders(session, ELDERS)
        for elder in elders:
            elder.caregiver_id = cg.id
            session.add(elder)
        session.commit()
        start = datetime.now(UTC) - timedelta(days=DAYS - 1)
        for elder in elders:
            items = [
                observations.NewObservation(
                    elder=elder,
                    source=ObservationSource.DEVICE,
                    observed_at=start + timedelta(days=day, hours=8),
                    observation_id=uuid.uuid4(),
                    readings=[
                        observations.Reading("systolic", 118 + day % 30, "mm[Hg]"),
                        observations.Reading("diastolic", 78, "mm[Hg]"),
                        observations.Reading("pulse", 70 + day % 12, "/min"),
                        observations.Reading("spo2", 96 + day % 3, "%"),
                    ],
                )
                for day in range(DAYS)
            ]
            observations.record_observations(session, items)
            session.commit()
        ids = [str(e.id) for e in elders]
    return app, ids


def server_pull(app: Any) -> tuple[float, int, int]:
    """The server's share of a first full pull, in process and before the browser starts:
    CPU seconds (this process, all threads; the server is idle then), the SQL statements
    and the gzipped bytes. Rolled back, so the browser's pull is still the first."""
    engine: sa.Engine = app.state.engine
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    with Session(engine, expire_on_commit=False) as session:
        user = session.exec(select(User).where(User.username == "cg")).one()
        sa.event.listen(engine, "before_cursor_execute", count)
        started = time.process_time()
        try:
            held = sync_pull.record_access(session, user=user)
            pulled = sync_pull.pull(session, user=user, held=held, since=None, request_id="b")
            body = gzip.compress(pulled.to_json(), compresslevel=sync_router.GZIP_LEVEL, mtime=0)
        finally:
            cpu = time.process_time() - started
            sa.event.remove(engine, "before_cursor_execute", count)
            session.rollback()
    return cpu, len(seen), len(body)


def mark(page: Page, name: str, last: bool = True) -> float:
    value: float = page.evaluate(
        "([n, last]) => { const e = performance.getEntriesByName(n);"
        " return e.length ? e[last ? e.length - 1 : 0].startTime : NaN; }",
        [name, last],
    )
    return value


def run(kind: str) -> None:
    with tempfile.TemporaryDirectory() as tmp, database(kind) as url:
        app, elder_ids = seed(url, Path(tmp))
        server_cpu, statements, wire = server_pull(app)
        with serve(app) as base, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            ctx = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
            page = ctx.new_page()
            page.goto(f"{base}/login")
            page.fill("input[name=username]", "cg")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/app/**")
            page.wait_for_function(
                "performance.getEntriesByName('pull-end').length > 0", timeout=120_000
            )
            first = mark(page, "first-render", last=False)
            # Where the time to the first screen goes: the login's POST and redirect, the
            # page, the script, and the app's own start (store opened, screen drawn).
            nav = page.evaluate(
                "(() => { const n = performance.getEntriesByType('navigation')[0];"
                " return {redirect: n.redirectEnd, response: n.responseEnd,"
                " interactive: n.domInteractive, loaded: n.domContentLoadedEventEnd}; })()"
            )
            pulled = mark(page, "pull-end", last=False)
            pull_ms = pulled - mark(page, "pull-start", last=False)
            # The pull's two halves: the answer fetched and parsed (server, network, JSON),
            # then written into IndexedDB.
            parsed_ms = mark(page, "pull-parsed", last=False) - mark(page, "pull-start", last=False)
            response = page.evaluate(
                "(() => { const r = performance.getEntriesByType('resource')"
                ".filter(e => e.name.includes('/api/v1/sync') && e.initiatorType === 'fetch')[0];"
                " return r ? {ttfb: r.responseStart - r.requestStart,"
                " bytes: r.encodedBodySize, raw: r.decodedBodySize} : null; })()"
            )
            page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=120_000)
            usage = page.evaluate(
                "navigator.storage.estimate().then(e => ({total: e.usage,"
                " idb: (e.usageDetails || {}).indexedDB || null}))"
            )
            # Pulled readings are held as month blocks (`history`), each with its reading sets.
            rows = page.evaluate(
                "new Promise(r => { const q = indexedDB.open('eldercare-care'); q.onsuccess = () =>"
                " { const t = q.result.transaction('history').objectStore('history').getAll();"
                " t.onsuccess = () => r([t.result.length,"
                " t.result.reduce((n, b) => n + b.readings.length, 0)]); }; })"
            )

            page.goto(f"{base}/app/#/elder/{elder_ids[0]}")
            page.wait_for_selector("[data-days='365']")
            draws = []
            for _ in range(5):
                page.click("[data-days='30']")
                page.click("[data-days='365']")
                page.wait_for_selector(".chart[data-chart='bp'][data-draw-ms]")
                draws.append(page.evaluate(
                    "Math.max(...[...document.querySelectorAll('.chart[data-draw-ms]')]"
                    ".map(e => +e.dataset.drawMs))"
                ))  # fmt: skip

            ctx.set_offline(True)
            cold = []
            for _ in range(3):
                p2 = ctx.new_page()
                p2.goto(f"{base}/app/")
                p2.wait_for_selector("#app[data-ready='1'] main")
                cold.append(mark(p2, "first-render", last=False))
                p2.close()

            records = week_of_records(
                [uuid.UUID(e) for e in elder_ids[:10]],
                datetime.now(UTC) - timedelta(days=7),
            )
            page.evaluate(
                """(records) => new Promise((resolve, reject) => {
                  const q = indexedDB.open('eldercare-care');
                  q.onsuccess = () => {
                    const tx = q.result.transaction(['outbox', 'meta'], 'readwrite');
                    const store = tx.objectStore('outbox');
                    const now = new Date().toISOString();
                    tx.objectStore('meta').get('session').onsuccess = (ev) => {
                      const user = ev.target.result.value.user_id;
                      records.forEach((r, i) => store.put({id: r.id, type: r.type, data: r.data,
                        target_id: r.target_id, base_version: r.base_version, state: 'waiting',
                        urgent: 0, seq: 1000 + i, created_at: now, rev: 0, user_id: user}));
                    };
                    tx.oncomplete = () => resolve(null); tx.onerror = () => reject(tx.error);
                  };
                })""",
                records,
            )
            page.evaluate(
                "performance.clearMarks('drain-start'); performance.clearMarks('drain-end')"
            )
            ctx.set_offline(False)
            page.wait_for_function(
                "document.querySelector('#waiting-count')?.dataset.waiting === '0'", timeout=120_000
            )
            page.wait_for_function(
                "performance.getEntriesByName('drain-end').length > 0", timeout=120_000
            )
            push_ms = mark(page, "drain-end", last=False) - mark(page, "drain-start", last=False)
            states = page.evaluate(
                "new Promise(r => { const q = indexedDB.open('eldercare-care'); q.onsuccess = () =>"
                " { const t = q.result.transaction('outbox').objectStore('outbox').getAll();"
                " t.onsuccess = () => { const c = {}; for (const e of t.result)"
                " c[e.state] = (c[e.state] || 0) + 1; r(c); }; }; })"
            )
            browser.close()
    print(f"\n[{kind}]")
    print(f"  first load after login: first screen {first:.0f} ms, data pulled {pulled:.0f} ms")
    print(f"    of which: login POST and redirect done {nav['redirect']:.0f} ms, page received "
          f"{nav['response']:.0f} ms, DOM interactive {nav['interactive']:.0f} ms, scripts run "
          f"{nav['loaded']:.0f} ms")  # fmt: skip
    print(f"  pull of {ELDERS} elders x {DAYS} days: {pull_ms:.0f} ms; {rows[1]} reading sets in "
          f"IndexedDB ({rows[0]} month blocks); storage {usage['total'] / 1e6:.1f} MB"
          + (f" (IndexedDB {usage['idb'] / 1e6:.1f} MB)" if usage["idb"] else ""))  # fmt: skip
    print(f"    of which: fetched and parsed {parsed_ms:.0f} ms"
          + (f" (server to first byte {response['ttfb']:.0f} ms, {response['bytes'] / 1e6:.1f} MB"
             f" on the wire, {response['raw'] / 1e6:.1f} MB of JSON)" if response else "")
          + f", written into IndexedDB {pull_ms - parsed_ms:.0f} ms")  # fmt: skip
    print(f"    server's share, in process: {server_cpu * 1000:.0f} ms CPU, {statements} SQL "
          f"statements, {wire / 1e6:.1f} MB gzipped")  # fmt: skip
    print(f"  one-year chart drawn: worst chart of four, 5 draws: "
          f"{', '.join(f'{d:.0f}' for d in draws)} ms")  # fmt: skip
    print(f"  offline cold start to Today: {', '.join(f'{c:.0f}' for c in cold)} ms")
    print(f"  push of 500 records end to end: {push_ms:.0f} ms; outbox after: {json.dumps(states)}")


def main() -> None:
    if not (DIST / "index.html").is_file():
        sys.exit("the app is not built: run `make app`")
    print("eldercare bench/careapp.py")
    print(machine())
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"app shell: {shell_size()}")
    kinds = sys.argv[1:] or ["sqlite", "postgresql"]
    for kind in kinds:
        run(kind)


if __name__ == "__main__":
    main()
