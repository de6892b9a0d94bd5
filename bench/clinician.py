"""The clinician's figure: opening a consultation with one year of history ≤ 1 s, in real
Chromium on loopback (the care app at /app/, a clinician signed in).

    python bench/clinician.py             # SQLite and PostgreSQL (if 127.0.0.1:5432 answers)
    python bench/clinician.py sqlite

One elder with a year of readings (blood pressure, pulse, SpO2) at two densities: one set a
day (a caregiver's or a daily home-kit reading) and four a day (a home hub). A consultation
from a visit with its readings and a voice note. Opening = from the click on the queue's
"open" to the page with its case, its nearby readings and four one-year charts drawn (the
page's `consult-open` mark, after uPlot's draw hooks), and the one request's own time
(Resource Timing): `GET /api/v1/consults/{id}/case`, which carries the year of history in a
compact form. Needs `make app` first.
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
    load,
    logged_in_page,
    make_elders,
    serve,
    summary,
)
from server.auth.models import Role, User  # noqa: E402
from server.auth.service import hash_password  # noqa: E402
from server.care.models import Visit, VisitReason, VisitRole, VisitStatus, VoiceNote  # noqa: E402
from server.care.schemas import ConsultCreate  # noqa: E402
from server.config import Settings  # noqa: E402
from server.main import create_app  # noqa: E402
from server.observations import service as observations  # noqa: E402
from server.observations.models import ObservationSource  # noqa: E402
from server.telehealth.consults import create_consult  # noqa: E402

DAYS = 365
OPENS = 10
PASSWORD = "bench-password-1"
WEBM = b"\x1a\x45\xdf\xa3" + bytes(4096)


def seed(url: str, data_dir: Path, per_day: int) -> tuple[Any, str]:
    settings = Settings(env="test", database_url=url, secret_key="c" * 48, data_dir=data_dir)
    app = create_app(settings)
    with Session(app.state.engine, expire_on_commit=False) as session:
        cg = User(username="cg", full_name="Caregiver", role=Role.CAREGIVER,
                  password_hash=hash_password(PASSWORD))  # fmt: skip
        doc = User(username="doc", full_name="Clinician", role=Role.CLINICIAN,
                   password_hash=hash_password(PASSWORD))  # fmt: skip
        session.add_all([cg, doc])
        session.commit()
        (elder,) = make_elders(session, 1)
        elder.caregiver_id = cg.id
        session.add(elder)
        session.commit()
        now = datetime.now(UTC)
        start = now - timedelta(days=DAYS - 1)
        step = timedelta(hours=24 / per_day)
        items = [
            observations.NewObservation(
                elder=elder,
                source=ObservationSource.DEVICE,
                observed_at=start + n * step,
                observation_id=uuid.uuid4(),
                readings=[
                    observations.Reading("systolic", 118 + n % 40, "mm[Hg]"),
                    observations.Reading("diastolic", 76 + n % 12, "mm[Hg]"),
                    observations.Reading("pulse", 64 + n % 20, "/min"),
                    observations.Reading("spo2", 94 + n % 5, "%"),
                ],
            )
            for n in range(DAYS * per_day)
            if start + n * step < now
        ]
        observations.record_observations(session, items)
        visit = Visit(
            elder_id=elder.id, role=VisitRole.CAREGIVER, reason=VisitReason.UNSCHEDULED,
            status=VisitStatus.COMPLETED, started_at=now - timedelta(hours=1), ended_at=now,
            performed_by=cg.id, notes="เวียนศีรษะตอนเช้า", problems=["ความดันสูง"],
        )  # fmt: skip
        session.add(visit)
        session.commit()
        consult, _ = create_consult(
            session, user=cg, request_id=None,
            data=ConsultCreate(elder_id=elder.id, question="ความดันสูงทุกเช้า ควรปรับยาหรือไม่",
                               urgency="soon", visit_id=visit.id,  # type: ignore[arg-type]
                               observation_ids=[items[-1].observation_id]),
        )  # fmt: skip
        session.add(
            VoiceNote(
                elder_id=elder.id, visit_id=visit.id, author_id=cg.id, content_type="audio/webm",
                size=len(WEBM), stored=True, storage="db", data=WEBM, recorded_at=now,
            )
        )  # fmt: skip
        session.commit()
        return app, str(consult.id)


def open_once(page: Page, consult_id: str) -> dict[str, float]:
    page.goto(page.url.split("#")[0] + "#/")
    page.wait_for_selector(f"li[data-consult='{consult_id}'] a.button")
    page.evaluate(
        "performance.clearMarks(); performance.clearResourceTimings(); performance.mark('click')"
    )
    page.click(f"li[data-consult='{consult_id}'] a.button")
    page.wait_for_selector("#consult[data-ready='1']", timeout=30_000)
    timing: dict[str, float] = page.evaluate(
        """() => {
          const at = (n) => performance.getEntriesByName(n)[0].startTime;
          const res = (part) => performance.getEntriesByType('resource')
            .filter(e => e.name.includes(part)).map(e => e.duration)[0] ?? NaN;
          return {open: at('consult-open') - at('click'), case: res('/case'),
                  points: [...document.querySelectorAll('.chart[data-points]')]
                    .reduce((s, e) => s + +e.dataset.points, 0)};
        }"""
    )
    return timing


def run(kind: str, per_day: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, database(kind) as url:
        app, consult_id = seed(url, Path(tmp), per_day)
        with (
            serve(app) as base,
            logged_in_page(base, "doc", PASSWORD, height=900, bypass_csp=False) as (_, page),
        ):
            page.wait_for_selector("#app[data-ready='1']")
            open_once(page, consult_id)  # warm: the first open compiles uPlot's paths
            runs = [open_once(page, consult_id) for _ in range(OPENS)]
    points = int(runs[0]["points"])
    print(f"\n[{kind}, {per_day} reading set(s) a day for a year: {points} chart points "
          f"(one chart point per series per reading set)]")  # fmt: skip
    print(f"  open consultation, click to drawn: {summary([r['open'] for r in runs])}")
    print(f"    of which GET /consults/{{id}}/case: {summary([r['case'] for r in runs])}")


def main() -> None:
    app_bench_start("bench/clinician.py")
    kinds = sys.argv[1:] or ["sqlite", "postgresql"]
    for kind in kinds:
        for per_day in (1, 4):
            run(kind, per_day)
    print(f"\nload average at end: {load()}")


if __name__ == "__main__":
    main()
