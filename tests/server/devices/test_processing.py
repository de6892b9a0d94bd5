"""Readings become triaged observations; emergencies and abnormal readings raise alerts."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from datetime import UTC, datetime

from fastapi import FastAPI
from sqlmodel import Session, col, select
from websockets.asyncio.client import connect

from eldercare_protocol import EVENT_ADAPTER, WS_PATH
from server.alerts.models import Alert, AlertKind
from server.devices.config import DevicesSettings
from server.devices.ingest import Ingestor, _Job
from server.devices.models import Device, PendingReading
from server.devices.service import HubIdentity
from server.devices.store import Submission, store_group
from server.observations.models import Observation, ObservationValue
from tests.support.events import bp_reading_json, events_message, heartbeat_json, panic_json
from tests.support.hubs import QUIET, exchange, live_server, make_hub
from tests.support.waiting import wait_until_async


def alerts(session: Session) -> list[Alert]:
    session.expire_all()
    return list(session.exec(select(Alert).order_by(col(Alert.created_at))).all())


async def test_readings_become_triaged_observations_and_crisis_raises_an_alert(
    app: FastAPI, session: Session
) -> None:
    hub = make_hub(session)
    normal = bp_reading_json(124, 78, 70)
    raised = bp_reading_json(150, 95, 80)  # GREEN: follow up at the next visit, no console alert
    crisis = bp_reading_json(196, 124, 88)  # hypertensive crisis: YELLOW
    with live_server(app) as url:
        async with connect(url + WS_PATH, additional_headers=hub.headers) as ws:
            _, ack = await exchange(ws, events_message(normal, raised, crisis))
            assert len(ack["ids"]) == 3
            _, again = await exchange(ws, events_message(crisis))
            assert again["ids"] == [crisis["id"]]
            # Readings are acked once stored; the projector makes them observations just after.
            await wait_until_async(lambda: len(session.exec(select(Observation.id)).all()) == 3)
    session.expire_all()
    cuff = session.exec(select(Device).where(Device.ble_address == "AA:BB:CC:00:00:01")).one()
    obs = session.get(Observation, uuid.UUID(crisis["id"]))
    assert obs is not None
    assert obs.elder_id == hub.elder.id
    assert obs.source == "device"
    assert obs.device_id == cuff.id
    assert obs.raw_hex == "1e8000500060"
    assert obs.device_clock_suspect is True
    assert obs.device_time is not None and obs.device_time.year == 2000
    assert obs.priority == "YELLOW"
    values = session.exec(
        select(ObservationValue.code, ObservationValue.value, ObservationValue.unit).where(
            ObservationValue.observation_id == obs.id
        )
    ).all()
    assert sorted(values) == [
        ("diastolic", 124.0, "mm[Hg]"),
        ("pulse", 88.0, "/min"),
        ("systolic", 196.0, "mm[Hg]"),
    ]
    quiet = session.get(Observation, uuid.UUID(normal["id"]))
    assert quiet is not None and quiet.priority is None
    follow_up = session.get(Observation, uuid.UUID(raised["id"]))
    assert follow_up is not None and follow_up.priority == "GREEN"
    (alert,) = alerts(session)
    assert alert.kind == AlertKind.VITALS
    assert alert.priority == "YELLOW"
    assert alert.observation_id == obs.id
    assert alert.source_event_id == obs.id
    assert alert.elder_id == hub.elder.id


async def test_panic_raises_one_red_alert_and_a_test_press_is_marked(
    app: FastAPI, session: Session
) -> None:
    hub = make_hub(session)
    other = make_hub(session)
    press = panic_json()
    drill = panic_json(test=True)
    with live_server(app) as url:
        async with connect(url + WS_PATH, additional_headers=hub.headers) as ws:
            # The press arrives behind a pile of readings and is still handled.
            batch = [heartbeat_json()] + [bp_reading_json() for _ in range(30)] + [press]
            _, ack = await exchange(ws, events_message(*batch))
            assert press["id"] in ack["ids"]
            await exchange(ws, events_message(press))
        async with connect(url + WS_PATH, additional_headers=other.headers) as ws:
            await exchange(ws, events_message(drill))
    raised = alerts(session)
    real = [a for a in raised if a.kind == AlertKind.PANIC and not a.test]
    assert len(real) == 1
    assert real[0].priority == "RED"
    assert real[0].elder_id == hub.elder.id
    assert real[0].source_event_id == uuid.UUID(press["id"])
    (test_alert,) = [a for a in raised if a.test]
    assert test_alert.elder_id == other.elder.id


async def test_with_readings_in_a_worker_the_server_only_stores_and_the_worker_triages(
    app: FastAPI, session: Session, db_url: str
) -> None:
    hub = make_hub(session)
    crisis = bp_reading_json(196, 124, 88)
    with live_server(app, readings="worker") as url:
        async with connect(url + WS_PATH, additional_headers=hub.headers) as ws:
            _, ack = await exchange(ws, events_message(crisis, panic_json()))
            assert len(ack["ids"]) == 2
            # The panic is the server's own work; the reading waits for a worker.
            await wait_until_async(lambda: len(alerts(session)) == 1)
            await asyncio.sleep(0.5)
            assert session.exec(select(Observation.id)).all() == []
        worker = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "server.cli", "worker", "--idle-wait", "0.1",
            env={**os.environ, "ELDERCARE_DATABASE_URL": db_url, "ELDERCARE_ENV": "test"},
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            await wait_until_async(
                lambda: len(session.exec(select(Observation.id)).all()) == 1, within=30
            )
        finally:
            worker.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(worker.communicate(), 20)
    assert worker.returncode == 0, stderr.decode()[-2000:]
    assert [a.kind for a in alerts(session)] == [AlertKind.PANIC, AlertKind.VITALS]
    assert session.exec(select(PendingReading)).all() == []


async def test_readings_are_triaged_while_the_ingest_queue_never_empties(
    app: FastAPI, session: Session
) -> None:
    """Storing and acking go first, but not for ever: under a steady stream of messages the
    ingest queue is seldom empty at the moment the projector looks, and a projector that
    waited for an empty queue left the readings untriaged while the stream lasted."""
    hub = make_hub(session)
    identity = HubIdentity(token_id=hub.token_id, device_id=hub.device_id, elder_id=hub.elder.id)
    settings = DevicesSettings.model_validate(QUIET)
    readings = [EVENT_ADAPTER.validate_python(bp_reading_json()) for _ in range(5)]
    store_group(session, [Submission(hub=identity, events=readings, received_at=datetime.now(UTC))],
                settings=settings)  # fmt: skip
    session.commit()
    ingestor = Ingestor(app.state.engine, settings)
    # A message that no writer takes: the queue stays non-empty throughout.
    waiting = Submission(hub=identity, events=[], received_at=datetime.now(UTC))
    ingestor._queue.put_nowait(_Job(waiting, asyncio.get_running_loop().create_future()))
    projector = asyncio.create_task(ingestor._projector())
    try:
        ingestor._readings_queued.set()

        def triaged() -> bool:
            session.expire_all()
            return len(session.exec(select(Observation.id)).all()) == 5

        await wait_until_async(triaged, within=5)
    finally:
        projector.cancel()
        await asyncio.gather(projector, return_exceptions=True)
    assert not ingestor._queue.empty()
