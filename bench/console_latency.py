"""Press-to-console latency: a hub sends a panic → a dispatcher's console WebSocket shows it.

Everything goes through the real paths: a server process (uvicorn, one worker, alert timers
on), a hub on the agent WebSocket sending the press, a dispatcher's console WebSocket
receiving the queue. Meanwhile a separate process runs 100 more hubs that send readings
(5 per message, 2 messages/s each: about 1,000 readings/s), which the server stores, acks
and triages into observations. Each press is closed as a false alarm before the next, so
the next press is a new alert rather than a repeat press joining the open one.

Mosquitto's (127.0.0.1:1883) publish-to-subscribe latency is measured in the same run as a
reference. Usage: python bench/console_latency.py [--db sqlite postgresql] [--presses 200]
[--rate 1000] [--watchers 0] (more consoles open, as in a centre with many desks)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from _common import pct, summary
from _server import bench_database, free_port, machine_line, make_hubs, server_process
from websockets.asyncio.client import connect

SECRET = "bench-secret-" + "x" * 40
AGENT_WS = "/api/v1/agent/ws"
CONSOLE_WS = "/api/v1/console/ws"
LOAD_HUBS = 100
READINGS_PER_MESSAGE = 5


def wire_event(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "device": "bench", "kind": kind,
            "occurred_at": datetime.now(UTC).isoformat(), "payload": payload}  # fmt: skip


def _reading(rng: random.Random) -> dict[str, Any]:
    return wire_event("vitals", {"measurements": [
        {"code": "systolic", "value": rng.randint(110, 150), "unit": "mm[Hg]"},
        {"code": "diastolic", "value": rng.randint(65, 90), "unit": "mm[Hg]"},
        {"code": "pulse", "value": rng.randint(60, 90), "unit": "/min"},
    ], "raw_hex": "1e8000500060"})  # fmt: skip


def events_message(*events: dict[str, Any]) -> str:
    return json.dumps({"type": "events", "events": list(events)})


def background_load(url: str, tokens: list[str], rate: int, stop: Any, acked: Any) -> None:
    """In its own process: hubs sending readings at `rate` per second in all."""

    async def one_hub(token: str, interval: float, offset: float) -> None:
        rng = random.Random(token)
        async with connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
            await asyncio.sleep(offset)
            next_at = time.monotonic()
            while not stop.is_set():
                await ws.send(events_message(*(_reading(rng) for _ in range(READINGS_PER_MESSAGE))))
                while True:
                    frame = json.loads(await ws.recv())
                    if frame["type"] == "ack":
                        with acked.get_lock():
                            acked.value += len(frame["ids"])
                        break
                next_at += interval
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def main() -> None:
        interval = len(tokens) * READINGS_PER_MESSAGE / rate
        await asyncio.gather(
            *(one_hub(t, interval, interval * i / len(tokens)) for i, t in enumerate(tokens))
        )

    asyncio.run(main())


def make_dispatcher(url: str) -> str:
    """A dispatcher in the bench database and a console session cookie for them."""
    from sqlmodel import Session

    from server.auth.models import Role, User
    from server.auth.service import issue_token
    from server.config import Settings
    from server.db import make_engine

    engine = make_engine(url)
    settings = Settings(env="test", database_url=url, secret_key=SECRET)
    with Session(engine, expire_on_commit=False) as session:
        user = User(username="bench", full_name="Bench", role=Role.DISPATCHER, password_hash="x")
        session.add(user)
        session.commit()
        token = issue_token(session, user, settings=settings, purpose="session")
        session.commit()
    engine.dispose()
    return token


def close_as_false_alarm(url: str, alert_id: str) -> None:
    from sqlmodel import Session, select

    from server.alerts.lifecycle import Action
    from server.alerts.service import transition
    from server.auth.models import User
    from server.db import make_engine

    engine = make_engine(url)
    with Session(engine, expire_on_commit=False) as session:
        user = session.exec(select(User).where(User.username == "bench")).one()
        transition(session, alert_id=uuid.UUID(alert_id), action=Action.ACKNOWLEDGE, actor=user)
        transition(
            session,
            alert_id=uuid.UUID(alert_id),
            action=Action.FALSE_ALARM,
            actor=user,
            note="bench",
        )
        session.commit()
    engine.dispose()


def backlog(url: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(sa.text("SELECT count(*) FROM agent_event_backlog")).scalar_one()
    engine.dispose()
    return int(count)


async def watch(base: str, cookie: str, frames: Any) -> None:
    """Another dispatcher's console: reads every frame, as a page would."""
    async with connect(base + CONSOLE_WS, max_size=None,
                       additional_headers={"Cookie": f"eldercare_session={cookie}"}) as ws:  # fmt: skip
        async for _ in ws:
            with frames.get_lock():
                frames.value += 1


def watchers_process(base: str, cookie: str, count: int, stop: Any, frames: Any) -> None:
    """The other desks' consoles, in a process of their own as other browsers would be: in
    the measuring process their frames queued ahead of the measured console's on one loop."""

    async def main() -> None:
        tasks = [asyncio.create_task(watch(base, cookie, frames)) for _ in range(count)]
        await asyncio.to_thread(stop.wait)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())


async def presses(base: str, token: str, cookie: str, db_url: str, count: int) -> list[float]:
    latencies: list[float] = []
    seen: set[str] = set()
    async with (
        connect(base + CONSOLE_WS, additional_headers={"Cookie": f"eldercare_session={cookie}"},
                max_size=None) as console,
        connect(base + AGENT_WS, additional_headers={"Authorization": f"Bearer {token}"}) as hub,
    ):  # fmt: skip
        await console.recv()  # the first queue
        for _ in range(count):
            press = wire_event("panic", {"press": "long", "source": "simulated"})
            start = time.perf_counter()
            await hub.send(events_message(press))
            alert_id = None
            while alert_id is None:
                try:
                    frame = json.loads(await asyncio.wait_for(console.recv(), timeout=10))
                except TimeoutError:
                    said = await hub.recv()
                    raise RuntimeError(f"no alert after 10 s; the hub said {said}") from None
                for alert in frame.get("alerts", []):
                    if alert["kind"] == "panic" and alert["id"] not in seen:
                        alert_id = alert["id"]
            latencies.append((time.perf_counter() - start) * 1000)
            seen.add(alert_id)
            await hub.recv()  # the press's ack
            await asyncio.to_thread(close_as_false_alarm, db_url, alert_id)
            await asyncio.sleep(0.05)
    return latencies


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


def run(kind: str, count: int, rate: int, readings: str, watchers: int = 0) -> None:
    with bench_database(kind) as db_url:
        tokens = make_hubs(db_url, LOAD_HUBS + 1)
        cookie = make_dispatcher(db_url)
        port = free_port()
        base = f"ws://127.0.0.1:{port}"
        ctx = multiprocessing.get_context("spawn")
        stop, acked = ctx.Event(), ctx.Value("q", 0)
        worker = None
        if readings == "worker":
            worker = subprocess.Popen(
                [sys.executable, "-m", "server.cli", "worker"],
                env={**os.environ, "ELDERCARE_DATABASE_URL": db_url, "ELDERCARE_ENV": "test"},
                stderr=subprocess.DEVNULL,
            )
        with server_process(db_url, port, ELDERCARE_SECRET_KEY=SECRET,
                            ELDERCARE_DEVICES_READINGS=readings):  # fmt: skip
            loader = ctx.Process(
                target=background_load, args=(base + AGENT_WS, tokens[1:], rate, stop, acked)
            )
            loader.start()
            processes = [loader]
            frames = ctx.Value("q", 0)
            if watchers:
                desks = ctx.Process(
                    target=watchers_process, args=(base, cookie, watchers, stop, frames)
                )
                desks.start()
                processes.append(desks)
            time.sleep(3.0)  # the load hubs and the other consoles connected
            load_from, load_count = time.monotonic(), acked.value
            latencies = asyncio.run(presses(base, tokens[0], cookie, db_url, count))
            achieved = (acked.value - load_count) / (time.monotonic() - load_from)
            waiting = backlog(db_url)
            stop.set()
            for process in processes:
                process.join(timeout=15)
                if process.is_alive():
                    process.terminate()
            if watchers:
                print(f"  {watchers} more consoles (another process) read {frames.value} frames")
                if frames.value < watchers * count:
                    raise RuntimeError("the other consoles did not see every press")
            time.sleep(5.0)  # the floor: nothing left untriaged 5 s after the load stops
            after = backlog(db_url)
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=15)
        mqtt = mqtt_reference(count)
    kind = f"{kind}, readings {readings}" + (f", {watchers + 1} consoles" if watchers else "")
    print(f"[{kind}] background: {achieved:.0f} readings/s acked over the agent WebSocket "
          f"(target {rate}, {LOAD_HUBS} hubs)")  # fmt: skip
    print(f"[{kind}] readings stored but not yet triaged at the end: {waiting}; 5 s after the "
          f"load stopped: {after} (floor 0: {'meets' if after == 0 else 'MISSES'})")  # fmt: skip
    print(f"[{kind}] press-to-console: {summary(latencies)}")
    if mqtt:
        print(f"[{kind}] mosquitto pub-to-sub (QoS 0, same run): {summary(mqtt)}")
        print(
            f"[{kind}] ratio console/mosquitto: p50 {pct(latencies, 50) / pct(mqtt, 50):.0f}x, "
            f"p99 {pct(latencies, 99) / pct(mqtt, 99):.0f}x"
        )
    verdict = "meets" if pct(latencies, 99) < 100 else "MISSES"
    print(f"[{kind}] floor p99 < 100 ms: {verdict}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument(
        "--readings",
        choices=["inline", "worker"],
        default="inline",
        help="triage readings in the server process, or in a separate `eldercare worker`",
    )
    parser.add_argument("--watchers", type=int, default=0,
                        help="more dispatcher consoles open, each reading every frame")  # fmt: skip
    args = parser.parse_args()
    print(machine_line())
    for kind in args.db:
        run(kind, args.presses, args.rate, args.readings, args.watchers)


if __name__ == "__main__":
    main()
