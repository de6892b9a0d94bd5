"""Press-to-console latency: raise_alert + commit → the console WebSocket has the alert.

Runs on SQLite and PostgreSQL while about 1,000 readings/s of background load are written
(observations recorded directly through the observations service: the device ingest is a
separate branch). Mosquitto's publish-to-subscribe latency on 127.0.0.1:1883 is measured in
the same run as a reference. Usage: python bench/console_latency.py [--db sqlite|postgresql]
[--presses 200] [--rate 1000]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlmodel import Session
from websockets.sync.client import connect

import triage
from bench._common import database, machine, make_elders, pct, serve, summary
from server.alerts.lifecycle import Action
from server.alerts.models import AlertKind
from server.alerts.service import raise_alert, transition
from server.auth.models import Role, User
from server.auth.service import issue_token
from server.common.time import utcnow
from server.config import Settings
from server.main import create_app
from server.observations.service import Reading, record_observation

SECRET = "bench-secret-" + "x" * 40
LOADERS = 1


def background_load(
    url: str, elder_ids: list[uuid.UUID], rate: int, stop: Any, counter: Any
) -> None:
    """In its own process: `rate` readings per second in batches every 50 ms."""
    from server.db import make_engine
    from server.elders.models import Elder

    engine = make_engine(url)
    per_batch = max(1, rate // 20)
    with Session(engine) as session:
        elders = [session.get(Elder, i) for i in elder_ids]
        n = 0
        next_at = time.monotonic()
        while not stop.is_set():
            for _ in range(per_batch):
                record_observation(
                    session,
                    elder=elders[n % len(elders)],
                    source="device",  # type: ignore[arg-type]
                    readings=[
                        Reading("systolic", 128, "mmHg"),
                        Reading("diastolic", 82, "mmHg"),
                        Reading("pulse", 72, "/min"),
                    ],
                    observed_at=utcnow() - timedelta(seconds=1),
                )
                n += 1
            session.commit()
            counter.value = n
            next_at += 0.05
            time.sleep(max(0.0, next_at - time.monotonic()))


def mqtt_reference(samples: int) -> list[float]:
    import paho.mqtt.client as mqtt

    topic = f"bench/{uuid.uuid4().hex}"
    got: dict[int, float] = {}
    ready = threading.Event()
    arrived = threading.Event()

    def on_message(_c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        got[int(msg.payload.decode())] = time.perf_counter()
        arrived.set()

    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    sub.on_message = on_message
    sub.on_subscribe = lambda *a: ready.set()
    sub.connect("127.0.0.1", 1883)
    sub.subscribe(topic, qos=0)
    sub.loop_start()
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    pub.connect("127.0.0.1", 1883)
    pub.loop_start()
    ready.wait(5)
    latencies = []
    for i in range(samples):
        arrived.clear()
        sent = time.perf_counter()
        pub.publish(topic, str(i), qos=0)
        if arrived.wait(2) and i in got:
            latencies.append((got[i] - sent) * 1000)
        time.sleep(0.01)
    pub.loop_stop()
    sub.loop_stop()
    pub.disconnect()
    sub.disconnect()
    return latencies


def run(kind: str, presses: int, rate: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, database(kind, tmp) as url:
        settings = Settings(env="test", database_url=url, secret_key=SECRET)
        app = create_app(settings)
        engine = app.state.engine
        with Session(engine, expire_on_commit=False) as session:
            elders = make_elders(session, 60)
            user = User(
                username="bench", full_name="Bench", role=Role.DISPATCHER, password_hash="x"
            )
            session.add(user)
            session.commit()
        cookie = issue_token(user, settings=settings, purpose="session")
        ctx = multiprocessing.get_context("spawn")
        stop = ctx.Event()
        written = ctx.Value("q", 0)
        ids = [e.id for e in elders]
        loaders = [
            ctx.Process(target=background_load, args=(url, ids, rate // LOADERS, stop, written))
            for _ in range(LOADERS)
        ]
        with serve(app) as base:
            for loader in loaders:
                loader.start()
            time.sleep(1.0)
            latencies: list[float] = []
            with connect(
                base.replace("http", "ws") + "/api/v1/console/ws",
                additional_headers={"Cookie": f"eldercare_session={cookie}"},
            ) as ws:
                ws.recv(timeout=10)  # the first snapshot
                load_started, load_count = time.monotonic(), written.value
                with Session(engine, expire_on_commit=False) as session:
                    for i in range(presses):
                        elder = elders[i % len(elders)]
                        start = time.perf_counter()
                        raised = raise_alert(
                            session,
                            elder_id=elder.id,
                            kind=AlertKind.PANIC,
                            priority=triage.Priority.RED,
                            reasons=[triage.Reason(key="triage.event.panic")],
                        )
                        session.commit()
                        target = str(raised.alert_id)
                        while True:
                            msg = json.loads(ws.recv(timeout=10))
                            if msg["type"] == "snapshot" and any(
                                a["id"] == target for a in msg["alerts"]
                            ):
                                latencies.append((time.perf_counter() - start) * 1000)
                                break
                        # Close it so the queue stays a realistic size.
                        session.commit()
                        transition(
                            session, alert_id=raised.alert_id, action=Action.ACKNOWLEDGE, actor=user
                        )
                        transition(
                            session,
                            alert_id=raised.alert_id,
                            action=Action.FALSE_ALARM,
                            actor=user,
                            note="bench",
                        )
                        session.commit()
                        time.sleep(0.02)
                achieved = (written.value - load_count) / (time.monotonic() - load_started)
                mqtt = mqtt_reference(presses)
            stop.set()
            for loader in loaders:
                loader.join(timeout=10)
        app.state.engine.dispose()
    print(f"[{kind}] background load: {achieved:.0f} readings/s written directly (target {rate})")
    print(f"[{kind}] press-to-console: {summary(latencies)}")
    if mqtt:
        print(f"[{kind}] mosquitto pub-to-sub (same run, QoS 0): {summary(mqtt)}")
        print(
            f"[{kind}] ratio console/mosquitto: p50 {pct(latencies, 50) / pct(mqtt, 50):.1f}x, "
            f"p99 {pct(latencies, 99) / pct(mqtt, 99):.1f}x"
        )
    verdict = "meets" if pct(latencies, 99) < 100 else "MISSES"
    print(f"[{kind}] floor p99 < 100 ms: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgresql"], action="append")
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--rate", type=int, default=1000)
    args = parser.parse_args()
    os.environ.setdefault("ELDERCARE_ALERTS_SCHEDULER", "true")
    print(machine())
    for kind in args.db or ["sqlite", "postgresql"]:
        run(kind, args.presses, args.rate)


if __name__ == "__main__":
    main()
