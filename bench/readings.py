"""Readings triaged and stored per second by the projector, one process.

Queues a fixed batch of hub readings (default 5,000 from 100 hubs, 5 per message, a few
abnormal so alerts are raised too, some elders with personal targets) through the real
ingest store, then times `project_readings` draining the queue in the server's own step
size. Nothing else runs, so the figure is the projector's cost alone.

Usage: python bench/readings.py [--db sqlite|postgresql] [--readings 5000] [--hubs 100]
[--batch 100] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import sqlalchemy as sa
from sqlmodel import Session

import triage
from bench._common import database, machine_line, make_elders
from eldercare_protocol import Measurement, MeasurementCode, VitalsEvent, VitalsPayload
from server.common.collector import collector_for_a_long_run
from server.db import make_engine
from server.devices.config import DevicesSettings
from server.devices.models import Device, DeviceKind, PendingReading
from server.devices.service import HubIdentity
from server.devices.store import Submission, project_readings, store_group
from server.observations.models import Observation, TriageOverrides
from server.wiring import install_domain_hooks

FLOOR = 5_000
GOAL = 20_000
PER_MESSAGE = 5


def _reading(rng: random.Random, at: datetime) -> VitalsEvent:
    # One in fifty is high enough to raise an alert.
    systolic = rng.randint(185, 200) if rng.random() < 0.02 else rng.randint(110, 150)
    return VitalsEvent(
        id=uuid.uuid4(),
        device="AA:BB:CC:00:00:01",
        occurred_at=at,
        payload=VitalsPayload(
            measurements=[
                Measurement(code=MeasurementCode.SYSTOLIC, value=systolic, unit="mm[Hg]"),
                Measurement(code=MeasurementCode.DIASTOLIC, value=rng.randint(65, 90), unit="mm[Hg]"),
                Measurement(code=MeasurementCode.PULSE, value=rng.randint(60, 90), unit="/min"),
            ],
            raw_hex="1e8000500060",
        ),
    )  # fmt: skip


def _queue(engine: sa.engine.Engine, *, readings: int, hubs: int) -> None:
    rng = random.Random(16)
    with Session(engine, expire_on_commit=False) as session:
        elders = make_elders(session, hubs)
        identities = []
        for n, elder in enumerate(elders):
            device = Device(elder_id=elder.id, kind=DeviceKind.HUB, label="hub")
            session.add(device)
            session.add(
                Device(
                    elder_id=elder.id, kind=DeviceKind.BP_MONITOR, ble_address="AA:BB:CC:00:00:01"
                )
            )
            if n % 4 == 0:
                session.add(
                    TriageOverrides(
                        elder_id=elder.id,
                        overrides=triage.Overrides(
                            bp_target=triage.BpTarget(systolic_max=150, diastolic_max=90)
                        ).model_dump(mode="json", exclude_none=True),
                    )
                )
            session.flush()
            identities.append(
                HubIdentity(token_id=device.id, device_id=device.id, elder_id=elder.id)
            )
        session.commit()
        start = datetime.now(UTC) - timedelta(hours=1)
        submissions = []
        for m in range(readings // PER_MESSAGE):
            hub = identities[m % hubs]
            at = start + timedelta(milliseconds=m)
            events = [_reading(rng, at) for _ in range(PER_MESSAGE)]
            submissions.append(Submission(hub=hub, events=events, received_at=at))
        settings = DevicesSettings()
        for g in range(0, len(submissions), 100):
            store_group(session, submissions[g : g + 100], settings=settings)
            session.commit()


def _count(engine: sa.engine.Engine, table: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def run(kind: str, *, readings: int, hubs: int, batch: int, profile: bool) -> None:
    # As a server or `eldercare worker` does: an alert opened here starts its on-call chain.
    install_domain_hooks()
    with database(kind) as url:
        engine = make_engine(url)
        _queue(engine, readings=readings, hubs=hubs)
        queued = _count(engine, PendingReading)
        settings = DevicesSettings()
        profiler = cProfile.Profile() if profile else None
        # The collector set as in the server and `eldercare worker`, where the projector runs.
        with collector_for_a_long_run():
            started = time.perf_counter()
            cpu = time.process_time()
            if profiler:
                profiler.enable()
            while True:
                with Session(engine, expire_on_commit=False) as session:
                    if not project_readings(session, settings=settings, limit=batch):
                        break
            if profiler:
                profiler.disable()
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu
        stored = _count(engine, Observation)
        with engine.connect() as conn:
            alerts = conn.execute(sa.text("SELECT count(*) FROM alerts")).scalar_one()
        rate = stored / elapsed
        verdict = "MEETS" if rate >= FLOOR else "MISSES"
        print(
            f"[{kind}] {queued} queued readings from {hubs} hubs, {batch} per step: "
            f"{stored} observations ({alerts} alerts) in {elapsed:.2f} s = {rate:,.0f} readings/s "
            f"({1000 / rate:.3f} ms a reading); floor {FLOOR:,}/s {verdict}, goal {GOAL:,}/s; "
            f"this process's CPU {cpu:.2f} s = {stored / cpu:,.0f} readings per CPU-second"
        )
        if profiler:
            stats = pstats.Stats(profiler)
            stats.sort_stats("cumulative").print_stats(30)
            stats.sort_stats("tottime").print_stats(25)
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgresql"], action="append")
    parser.add_argument("--readings", type=int, default=5000)
    parser.add_argument("--hubs", type=int, default=100)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    print(machine_line())
    for kind in args.db or ["sqlite", "postgresql"]:
        run(kind, readings=args.readings, hubs=args.hubs, batch=args.batch, profile=args.profile)


if __name__ == "__main__":
    main()
