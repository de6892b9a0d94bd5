"""Report figures: each report on a year of data for 1,000 elders, on SQLite and PostgreSQL.

    python bench/reports.py [--elders 1000] [--runs 5] [--databases sqlite,postgresql]

Seeds, per elder, a year of alerts (about one real press every two months, test presses,
false alarms, device alerts), weekly caregiver visits with ADL scores, a daily blood-pressure
reading set (some abnormal, with review items), consultations and satisfaction answers; then
times each report for the last full month (its trend covers the whole year). Target: each
report within 500 ms. Prints numbers and the machine; it is not a pass/fail test.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from bench._common import database, machine_line, make_elders, pct
from server.alerts.models import Alert, AlertKind, AlertStatus
from server.auth.models import Role, User
from server.care.models import (
    Consult,
    ConsultStatus,
    ConsultUrgency,
    ReviewItem,
    ReviewKind,
    ReviewStatus,
    Visit,
    VisitStatus,
)
from server.db import make_engine
from server.devices.models import Device, DeviceKind, HubStatus
from server.observations.models import Observation, ObservationValue
from server.reports import service
from server.reports.models import SatisfactionSurvey, SurveyContext
from triage import Priority

BATCH = 5_000
END = datetime(2026, 11, 1, tzinfo=UTC)
START = END - timedelta(days=365)


def insert(conn: sa.Connection, model: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    table = model.__table__  # type: ignore[attr-defined]
    for i in range(0, len(rows), BATCH):
        conn.execute(sa.insert(table), rows[i : i + BATCH])


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return value.hex  # how SQLAlchemy's Uuid type stores it on SQLite
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dict):
        return json.dumps(value)
    return value


def fast_insert(conn: sa.Connection, model: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    """Bulk rows through the driver itself (COPY on PostgreSQL): a million readings in seconds."""
    table = model.__tablename__
    columns = list(rows[0])
    raw = conn.connection.dbapi_connection
    assert raw is not None
    if conn.dialect.name == "sqlite":
        marks = ", ".join("?" for _ in columns)
        raw.executemany(  # type: ignore[attr-defined]
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
            [tuple(_sqlite_value(r[c]) for c in columns) for r in rows],
        )
        return
    with (
        raw.cursor() as cursor,
        cursor.copy(  # type: ignore[attr-defined]
            f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        ) as copy,
    ):
        for r in rows:
            copy.write_row(tuple(json.dumps(v) if isinstance(v, dict) else v for v in
                                 (r[c] for c in columns)))  # fmt: skip


def dumps(items: list[SQLModel]) -> list[dict[str, Any]]:
    return [item.model_dump() for item in items]


def seed(url: str, elders_count: int) -> dict[str, int]:
    rng = random.Random(17)
    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        caregivers = [
            User(username=f"cg{i}", full_name=f"ผู้ดูแล {i}", role=Role.CAREGIVER,
                 password_hash="x")
            for i in range(20)
        ]  # fmt: skip
        session.add_all(caregivers)
        session.commit()
        elders = make_elders(session, elders_count)
        cg_ids = [c.id for c in caregivers]
    alerts: list[SQLModel] = []
    visits: list[SQLModel] = []
    observations: list[dict[str, Any]] = []
    values: list[dict[str, Any]] = []
    reviews: list[SQLModel] = []
    consults: list[SQLModel] = []
    surveys: list[SQLModel] = []
    devices: list[SQLModel] = []
    hubs: list[SQLModel] = []
    for index, elder in enumerate(elders):
        caregiver = cg_ids[index % len(cg_ids)]
        for _ in range(rng.randint(3, 9)):
            created = START + timedelta(seconds=rng.uniform(0, 365 * 86400))
            ack = rng.lognormvariate(3.5, 0.6)
            roll = rng.random()
            kind = AlertKind.PANIC if roll < 0.8 else AlertKind.FALL
            status = AlertStatus.RESOLVED
            test = rng.random() < 0.1
            if rng.random() < 0.08:
                status = AlertStatus.FALSE_ALARM
            alert = Alert(
                elder_id=elder.id, kind=kind, priority=Priority.RED, status=status, test=test,
                occurred_at=created, created_at=created, last_pressed_at=created,
                acknowledged_at=created + timedelta(seconds=ack),
                dispatched_at=created + timedelta(seconds=ack + rng.uniform(20, 120)),
                on_scene_at=created + timedelta(seconds=rng.uniform(300, 1100)),
                resolved_at=created + timedelta(seconds=rng.uniform(1500, 4000)),
            )  # fmt: skip
            alerts.append(alert)
            if status == AlertStatus.RESOLVED and not test and rng.random() < 0.5:
                surveys.append(SatisfactionSurvey(
                    context=SurveyContext.ALERT, subject_id=alert.id, elder_id=elder.id,
                    overall=rng.choice([3, 4, 4, 5, 5]), answered_at=created + timedelta(days=1)))  # fmt: skip
        for week in range(52):
            due = START + timedelta(days=7 * week + 3)
            done = rng.random() < 0.9
            visit = Visit(
                elder_id=elder.id, assigned_to=caregiver,
                status=VisitStatus.COMPLETED if done else VisitStatus.MISSED, due_by=due,
                started_at=due if done else None,
                ended_at=due + timedelta(minutes=40) if done else None,
                adl_score=max(0, min(20, 12 + rng.randint(-3, 3))) if done and week % 4 == 0 else None,
            )  # fmt: skip
            visits.append(visit)
        for day in range(365):
            at = START + timedelta(days=day, hours=rng.uniform(0, 4))
            systolic = rng.gauss(135, 18)
            priority = "RED" if systolic >= 180 else "YELLOW" if systolic >= 160 else None
            obs_id = uuid.uuid4()
            observations.append({
                "id": obs_id, "elder_id": elder.id, "source": "device", "observed_at": at,
                "recorded_at": at, "device_clock_suspect": False, "on_oxygen": False,
                "priority": priority, "triage": {},
            })  # fmt: skip
            for code, value, unit in (("systolic", systolic, "mm[Hg]"),
                                      ("diastolic", systolic * 0.62, "mm[Hg]"),
                                      ("pulse", rng.gauss(78, 10), "/min")):  # fmt: skip
                values.append({"observation_id": obs_id, "elder_id": elder.id,
                               "observed_at": at, "code": code, "value": value, "unit": unit})  # fmt: skip
            if priority:
                reviews.append(ReviewItem(
                    kind=ReviewKind.ABNORMAL_READING, elder_id=elder.id, priority=priority,
                    entity="observation", entity_id=str(obs_id), status=ReviewStatus.RESOLVED,
                    created_at=at, resolved_at=at + timedelta(hours=rng.uniform(1, 48))))  # fmt: skip
        for _ in range(rng.randint(0, 4)):
            at = START + timedelta(days=rng.uniform(0, 365))
            consults.append(Consult(
                elder_id=elder.id, question="?", urgency=rng.choice(list(ConsultUrgency)),
                created_at=at, answered_at=at + timedelta(hours=rng.uniform(0.5, 72)),
                status=ConsultStatus.ANSWERED))  # fmt: skip
        hub = Device(elder_id=elder.id, kind=DeviceKind.HUB, created_at=START)
        devices += [hub, Device(elder_id=elder.id, kind=DeviceKind.PANIC_BUTTON, created_at=START)]
        seen = END - timedelta(minutes=1 if rng.random() < 0.97 else 60 * 30)
        hubs.append(HubStatus(hub_id=hub.id, elder_id=elder.id, last_seen_at=seen))
    with engine.begin() as conn:
        insert(conn, Alert, dumps(alerts))
        insert(conn, Visit, dumps(visits))
        fast_insert(conn, Observation, observations)
        fast_insert(conn, ObservationValue, values)
        insert(conn, ReviewItem, dumps(reviews))
        insert(conn, Consult, dumps(consults))
        insert(conn, SatisfactionSurvey, dumps(surveys))
        insert(conn, Device, dumps(devices))
        insert(conn, HubStatus, dumps(hubs))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return {"alerts": len(alerts), "visits": len(visits), "observations": len(observations),
            "observation_values": len(values), "reviews": len(reviews)}  # fmt: skip


def time_reports(url: str, runs: int) -> dict[str, list[float]]:
    engine = make_engine(url)
    scope = service.Scope(month=date(2026, 10, 1))
    now = END
    reports: dict[str, Callable[[Session], object]] = {
        "response": lambda s: service.response_report(s, scope=scope),
        "care": lambda s: service.care_report(s, scope=scope, now=now),
        "programme": lambda s: service.programme_report(s, scope=scope, now=now),
        "satisfaction": lambda s: service.satisfaction_report(s, scope=scope),
    }
    timings: dict[str, list[float]] = {name: [] for name in reports}
    for _ in range(runs):
        for name, run in reports.items():
            with Session(engine) as session:
                started = time.perf_counter()
                run(session)
                timings[name].append((time.perf_counter() - started) * 1000)
    engine.dispose()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--elders", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    print(machine_line())
    print(f"{args.elders} elders x 1 year; report month 2026-10 (trend: 12 months); "
          f"{args.runs} runs each; target <= 500 ms")  # fmt: skip
    for kind in args.databases.split(","):
        with database(kind) as url:
            started = time.perf_counter()
            counts = seed(url, args.elders)
            print(f"[{kind}] seeded {counts} in {time.perf_counter() - started:.0f} s")
            for name, values in time_reports(url, args.runs).items():
                verdict = "ok" if pct(values, 50) <= 500 else "OVER TARGET"
                print(f"[{kind}] {name:<13} p50={pct(values, 50):7.1f} ms  "
                      f"max={max(values):7.1f} ms  ({verdict})")  # fmt: skip


if __name__ == "__main__":
    main()
