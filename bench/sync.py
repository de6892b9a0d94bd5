"""Offline sync and history figures, on SQLite and PostgreSQL.

    python bench/sync.py            # both databases (PostgreSQL at 127.0.0.1:5432 if it answers)

1. One caregiver's week offline, 500 records (50 visits logged, 300 reading sets, 100 notes,
   50 visit completions), pushed as one `POST /api/v1/sync`: wall time and SQL statements
   (counted with a `before_cursor_execute` event), then the same batch re-sent (all duplicates).
2. A full `GET /api/v1/sync` for that caregiver afterwards; then the issue's figure: a
   caregiver with 40 elders, each with a year of daily readings (14,600 reading sets).
3. An elder's one-year history (one reading set a day: BP, pulse, SpO2 = 4 values)
   returned by `GET /api/v1/elders/{id}/observations`: median and worst of 20 calls.

Requests go through the real app in-process (FastAPI TestClient); no network beyond loopback.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session

from bench._server import machine_line
from server.auth.models import Role, User
from server.auth.service import issue_token
from server.care import history
from server.common import thai_id as national_id
from server.config import Settings
from server.elders.models import Elder, Sex
from server.main import create_app
from server.migrate import upgrade
from server.observations import service as observations
from server.observations.models import ObservationSource
from tests.support.databases import postgres_admin_url, scratch_postgres

ELDERS = 10
PG_ADMIN = postgres_admin_url()


def thai_id(n: int) -> str:
    return national_id.with_check_digit(f"1{n:011d}")


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_args: Any) -> None:
        self.count += 1


@contextmanager
def counted(engine: sa.Engine) -> Iterator[QueryCounter]:
    counter = QueryCounter()
    event.listen(engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", counter)


def week_of_records(elder_ids: list[uuid.UUID], start: datetime) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    visits: list[tuple[str, uuid.UUID, datetime]] = []
    for i in range(50):
        elder_id = elder_ids[i % len(elder_ids)]
        when = start + timedelta(hours=3 * i)
        visit_id = str(uuid.uuid4())
        visits.append((visit_id, elder_id, when))
        records.append({"id": visit_id, "type": "visit", "data": {
            "elder_id": str(elder_id), "status": "in_progress", "started_at": when.isoformat(),
            "latitude": 13.28, "longitude": 100.92}})  # fmt: skip
    for n in range(300):
        visit_id, elder_id, when = visits[n % 50]
        readings = [
            {"code": "systolic", "value": 118 + n % 30}, {"code": "diastolic", "value": 76},
            {"code": "pulse", "value": 70 + n % 15}, {"code": "spo2", "value": 97},
        ]  # fmt: skip
        records.append({"id": str(uuid.uuid4()), "type": "observation", "data": {
            "elder_id": str(elder_id), "visit_id": visit_id,
            "observed_at": (when + timedelta(minutes=n % 40)).isoformat(),
            "readings": readings}})  # fmt: skip
    for n in range(100):
        visit_id, elder_id, when = visits[n % 50]
        records.append({"id": str(uuid.uuid4()), "type": "note", "data": {
            "elder_id": str(elder_id), "visit_id": visit_id, "text": "ทานยาครบ สบายดี",
            "written_at": when.isoformat()}})  # fmt: skip
    for visit_id, _elder_id, when in visits:
        records.append({"id": str(uuid.uuid4()), "type": "visit_update", "target_id": visit_id,
                        "base_version": 1, "data": {
                            "status": "completed", "ended_at": (when + timedelta(hours=1)).isoformat(),
                            "checklist": [{"item": "ยา", "done": True}]}})  # fmt: skip
    assert len(records) == 500
    return records


def run(label: str, url: str, data_dir: Path) -> None:
    upgrade(url)
    settings = Settings(env="test", database_url=url, secret_key="b" * 48, data_dir=data_dir)
    app = create_app(settings)
    engine: sa.Engine = app.state.engine
    with Session(engine, expire_on_commit=False) as session:
        cg = User(username="cg", full_name="CG", role=Role.CAREGIVER, password_hash="x")
        cm = User(username="cm", full_name="CM", role=Role.CARE_MANAGER, password_hash="x")
        session.add_all([cg, cm])
        session.flush()
        elders = [
            Elder(national_id=thai_id(i + 1), first_name=f"E{i}", last_name="B",
                  birth_date=date(1945, 1, 1), sex=Sex.FEMALE, address="1", community="C",
                  caregiver_id=cg.id, latitude=13.28, longitude=100.92)
            for i in range(ELDERS)
        ]  # fmt: skip
        session.add_all(elders)
        session.commit()
        elder_ids = [e.id for e in elders]
        # One year of daily readings for the first elder.
        start = datetime.now(UTC) - timedelta(days=365)
        for day in range(365):
            observations.record_observation(
                session, elder=elders[0], source=ObservationSource.DEVICE,
                observed_at=start + timedelta(days=day),
                readings=[observations.Reading("systolic", 120 + day % 25, "mm[Hg]"),
                          observations.Reading("diastolic", 80, "mm[Hg]"),
                          observations.Reading("pulse", 72, "/min"),
                          observations.Reading("spo2", 97, "%")],
            )  # fmt: skip
        session.commit()
        cg_h = {"Authorization": f"Bearer {issue_token(session, cg, settings=settings)}"}
        cm_h = {"Authorization": f"Bearer {issue_token(session, cm, settings=settings)}"}
        session.commit()
    records = week_of_records(elder_ids, datetime.now(UTC) - timedelta(days=7))
    with TestClient(app) as client:
        with counted(engine) as q:
            t0, c0 = time.perf_counter(), time.process_time()
            response = client.post("/api/v1/sync", json={"records": records}, headers=cg_h)
            push_s, push_cpu = time.perf_counter() - t0, time.process_time() - c0
        assert response.status_code == 200, response.text
        counts = response.json()["counts"]
        assert counts["stored"] == 500, counts
        with counted(engine) as q2:
            t0 = time.perf_counter()
            again = client.post("/api/v1/sync", json={"records": records}, headers=cg_h)
            resend_s = time.perf_counter() - t0
        assert again.json()["counts"]["duplicate"] == 500
        with counted(engine) as q3:
            t0 = time.perf_counter()
            pulled = client.get("/api/v1/sync", headers=cg_h)
            pull_s = time.perf_counter() - t0
        assert pulled.status_code == 200
        pull_body = pulled.json()
        times = []
        hist_url = f"/api/v1/elders/{elder_ids[0]}/observations"
        for _ in range(20):
            t0 = time.perf_counter()
            hist = client.get(hist_url, headers=cm_h)
            times.append(time.perf_counter() - t0)
        assert hist.status_code == 200
        points = len(hist.json()["points"])
        with counted(engine) as q4:
            client.get(hist_url, headers=cm_h)
    # The same read without HTTP: the service alone, serialised to JSON.
    service_times = []
    with Session(engine, expire_on_commit=False) as session:
        reader = session.get(User, cm.id)
        assert reader is not None
        for _ in range(20):
            t0 = time.perf_counter()
            history.elder_history(session, user=reader, elder_id=elder_ids[0]).model_dump_json()
            service_times.append(time.perf_counter() - t0)
    print(f"\n[{label}]")
    print(f"  push 500 records:      {push_s * 1000:8.0f} ms  {q.count:5d} SQL statements "
          f"({q.count / 500:.1f}/record)  {counts}")  # fmt: skip
    print(f"    CPU time of the process (client and server): {push_cpu * 1000:.0f} ms")
    print(f"  re-send (duplicates):  {resend_s * 1000:8.0f} ms  {q2.count:5d} SQL statements")
    print(f"  full pull:             {pull_s * 1000:8.0f} ms  {q3.count:5d} SQL statements  "
          f"({len(pull_body['visits'])} visits, {len(pull_body['observations'])} reading sets, "
          f"{len(pull_body['notes'])} notes)")  # fmt: skip
    print(f"  1-year history ({points} points, 365 reading sets): median "
          f"{statistics.median(times) * 1000:.1f} ms, worst {max(times) * 1000:.1f} ms, "
          f"{q4.count} SQL statements")  # fmt: skip
    print(f"    service + JSON only: median {statistics.median(service_times) * 1000:.1f} ms, "
          f"worst {max(service_times) * 1000:.1f} ms")  # fmt: skip
    engine.dispose()
    year_pull(label, url, data_dir)


def year_pull(label: str, url: str, data_dir: Path, elders: int = 40, days: int = 365) -> None:
    """GET /api/v1/sync for a new caregiver with `elders` elders, each with `days` days of
    readings (BP, pulse, SpO2): wall and CPU time, size, SQL statements."""
    settings = Settings(env="test", database_url=url, secret_key="b" * 48, data_dir=data_dir)
    app = create_app(settings)
    engine: sa.Engine = app.state.engine
    with Session(engine, expire_on_commit=False) as session:
        cg = User(username="cg40", full_name="CG", role=Role.CAREGIVER, password_hash="x")
        session.add(cg)
        session.flush()
        rows = [
            Elder(national_id=thai_id(1000 + i), first_name=f"Y{i}", last_name="B",
                  birth_date=date(1945, 1, 1), sex=Sex.FEMALE, address="1", community="C",
                  caregiver_id=cg.id)
            for i in range(elders)
        ]  # fmt: skip
        session.add_all(rows)
        session.commit()
        start = datetime.now(UTC) - timedelta(days=days - 1)
        for elder in rows:
            observations.record_observations(session, [
                observations.NewObservation(
                    elder=elder, source=ObservationSource.DEVICE, observation_id=uuid.uuid4(),
                    observed_at=start + timedelta(days=day, hours=8),
                    readings=[observations.Reading("systolic", 118 + day % 30, "mm[Hg]"),
                              observations.Reading("diastolic", 78, "mm[Hg]"),
                              observations.Reading("pulse", 70 + day % 12, "/min"),
                              observations.Reading("spo2", 96 + day % 3, "%")])
                for day in range(days)
            ])  # fmt: skip
            session.commit()
        headers = {"Authorization": f"Bearer {issue_token(session, cg, settings=settings)}"}
        session.commit()
    walls, cpus = [], []
    with TestClient(app) as client:
        for n in range(3):
            with counted(engine) as q:
                t0, c0 = time.perf_counter(), time.process_time()
                pulled = client.get("/api/v1/sync", headers=headers)
                walls.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - c0)
            assert pulled.status_code == 200
            if n == 0:
                size = len(pulled.content)
                wire = int(pulled.headers.get("content-length") or size)
                count = len(pulled.json()["observations"])
    print(f"  full pull, {elders} elders x {days} days ({count} reading sets): wall "
          f"{', '.join(f'{w * 1000:.0f}' for w in walls)} ms; CPU "
          f"{', '.join(f'{c * 1000:.0f}' for c in cpus)} ms; {q.count} SQL statements; "
          f"{size / 1e6:.1f} MB JSON, {wire / 1e6:.2f} MB sent "
          f"({pulled.headers.get('content-encoding') or 'identity'})")  # fmt: skip
    engine.dispose()


def main() -> None:
    print("eldercare bench/sync.py")
    print(machine_line())
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        run("SQLite (file, WAL)", f"sqlite:///{tmp}/bench.db", Path(tmp) / "data")
        with contextlib.ExitStack() as stack:
            try:
                url = stack.enter_context(scratch_postgres(prefix="bench", migrate=False))
            except sa.exc.OperationalError as exc:
                print(f"\n[PostgreSQL] skipped: {type(exc).__name__} (nothing at {PG_ADMIN})")
                return
            run("PostgreSQL (127.0.0.1)", url, Path(tmp) / "pgdata")


if __name__ == "__main__":
    main()
