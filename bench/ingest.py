"""Hub ingest throughput: events/s stored and acked over real WebSockets from 500 hubs.

A server process (uvicorn, one worker) on a fresh database; 500 simulated hubs (one
connection each, hub tokens made by the bench) send a fixed number of events, each keeping up to 4
messages in flight as the agent does. Counted: events acked by the server, which acks only
after commit; at the end the stored rows are counted too. Run on SQLite and PostgreSQL, one
event per message and 50 per message.

Each run is preceded by the same load against a ceiling measured on the same machine: a bare
uvicorn WebSocket that parses each message and acks its ids (``bench/_echo.py``, no database),
so the cost of the stack shows beside the total.

Run: python bench/ingest.py [--hubs 500] [--events 50000] [--db sqlite postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from _server import (
    bench_database,
    free_port,
    machine_line,
    make_hubs,
    server_process,
    uvicorn_process,
)
from websockets.asyncio.client import connect

WS_PATH = "/api/v1/agent/ws"
FLOOR = 10_000  # batched, durable events/s (issue 16)


def event(kind: str, rng: random.Random) -> str:
    now = datetime.now(UTC).isoformat()
    if kind == "heartbeat":
        payload = {"agent_version": "1.0", "uptime_s": 10, "outbox_depth": 0, "devices": []}
    else:
        payload = {
            "measurements": [
                {"code": "systolic", "value": rng.randint(110, 150), "unit": "mm[Hg]"},
                {"code": "diastolic", "value": rng.randint(65, 90), "unit": "mm[Hg]"},
                {"code": "pulse", "value": rng.randint(60, 90), "unit": "/min"},
            ],
            "raw_hex": "1e8000500060",
        }
    return json.dumps(
        {"id": str(uuid.uuid4()), "device": "bench", "kind": kind, "occurred_at": now,
         "payload": payload}
    )  # fmt: skip


def message(batch: int, vitals_share: float, rng: random.Random) -> str:
    kinds = ["vitals" if rng.random() < vitals_share else "heartbeat" for _ in range(batch)]
    return '{"type":"events","events":[' + ",".join(event(k, rng) for k in kinds) + "]}"


async def hub(
    url: str,
    token: str,
    *,
    messages: list[str],
    counts: list[int],
    connected: asyncio.Barrier,
    started: list[float],
) -> None:
    async with connect(
        url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=120
    ) as ws:
        window = asyncio.Semaphore(4)
        # Every hub is connected before any sends: opening 500 connections is measured by
        # bench/hub_connections.py, not here.
        if await connected.wait() == 0:
            started.append(time.monotonic())

        async def receive() -> None:
            async for raw in ws:
                frame = json.loads(raw)
                if frame["type"] == "ack":
                    counts[0] += len(frame["ids"])
                    window.release()
                else:
                    counts[1] += 1

        reader = asyncio.create_task(receive())
        for text in messages:
            await window.acquire()
            await ws.send(text)
        for _ in range(4):  # wait for what is in flight
            await asyncio.wait_for(window.acquire(), timeout=60)
        reader.cancel()


async def run(
    url: str, tokens: list[str], *, batch: int, vitals_share: float, events: int
) -> tuple[int, int, float]:
    """Each hub sends its share of `events`; the clock runs from the first send (all hubs
    connected) to the last ack.

    The messages are made before the clock starts, so the client's JSON work is not counted
    against the server (both share this machine's cores).
    """
    rng = random.Random(1)
    per_hub = max(1, events // (len(tokens) * batch))
    work = [[message(batch, vitals_share, rng) for _ in range(per_hub)] for _ in tokens]
    counts = [0, 0]
    started: list[float] = []
    connected = asyncio.Barrier(len(tokens))
    await asyncio.gather(
        *(
            hub(url, t, messages=m, counts=counts, connected=connected, started=started)
            for t, m in zip(tokens, work, strict=True)
        )
    )
    return counts[0], counts[1], time.monotonic() - started[0]


def ceiling(tokens: list[str], *, batch: int, vitals_share: float, events: int) -> float:
    port = free_port()
    with uvicorn_process(["bench._echo:app"], port, start_timeout_s=30):
        acked, _, elapsed = asyncio.run(
            run(f"ws://127.0.0.1:{port}{WS_PATH}", tokens, batch=batch,
                vitals_share=vitals_share, events=events)
        )  # fmt: skip
    return acked / elapsed


def stored(db_url: str) -> int:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        count = int(conn.execute(sa.text("SELECT count(*) FROM agent_events")).scalar_one())
    engine.dispose()
    return count


def commit_cost(count: int) -> None:
    """What synchronous=FULL costs SQLite per commit: one message's events in WAL mode, with
    NORMAL (the server before) and FULL (now: a commit is on disk before it is acked)."""
    import sqlite3
    import statistics
    import tempfile

    body = event("vitals", random.Random(1))
    for mode in ("NORMAL", "FULL"):
        with tempfile.TemporaryDirectory() as tmp:
            conn = sqlite3.connect(f"{tmp}/commit.db", isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={mode}")
            conn.execute("CREATE TABLE e (id TEXT PRIMARY KEY, body TEXT)")
            times = []
            for _ in range(count):
                started = time.perf_counter()
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO e VALUES (?, ?)", (str(uuid.uuid4()), body))
                conn.execute("COMMIT")
                times.append(1000 * (time.perf_counter() - started))
            conn.close()
        times.sort()
        print(
            f"sqlite commit, synchronous={mode:<6}: p50 {statistics.median(times):.2f} ms, "
            f"p99 {times[int(0.99 * (len(times) - 1))]:.2f} ms ({count} commits)",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hubs", type=int, default=500)
    parser.add_argument("--events", type=int, default=50_000, help="events per batched run")
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--vitals", type=float, default=0.5, help="share of readings vs heartbeats")
    parser.add_argument("--commits", type=int, default=300, help="for the commit-cost line")
    args = parser.parse_args()
    print(machine_line())
    if args.commits and "sqlite" in args.db:
        commit_cost(args.commits)
    print(
        f"{args.hubs} hubs, {args.events} events batched / {args.events // 10} one per message, {args.vitals:.0%} readings (triaged into observations), rest heartbeats"
    )
    tokens = [f"echo-{n}" for n in range(args.hubs)]
    ceilings = {
        batch: ceiling(tokens, batch=batch, vitals_share=args.vitals,
                       events=args.events if batch > 1 else args.events // 10)
        for batch in (1, 50)
    }  # fmt: skip
    for batch, rate in ceilings.items():
        print(f"ceiling    {batch:>3} event(s)/message: {rate:8.0f} events/s acked "
              "(bare uvicorn WebSocket, JSON parsed, no database)", flush=True)  # fmt: skip
    for db in args.db:
        for batch in (1, 50):
            with bench_database(db) as db_url:
                tokens = make_hubs(db_url, args.hubs)
                port = free_port()
                with server_process(db_url, port, start_timeout_s=120,
                                    ELDERCARE_DEVICES_RATE_PER_SECOND="100000",
                                    ELDERCARE_DEVICES_BURST="1000000"):  # fmt: skip
                    acked, errors, elapsed = asyncio.run(
                        run(f"ws://127.0.0.1:{port}{WS_PATH}", tokens, batch=batch,
                            vitals_share=args.vitals,
                            events=args.events if batch > 1 else args.events // 10)
                    )  # fmt: skip
                rows = stored(db_url)
            rate = acked / elapsed
            print(
                f"{db:<10} {batch:>3} event(s)/message: {rate:8.0f} events/s acked "
                f"({acked} acked, {rows} stored, {errors} error frames, {elapsed:.1f} s); "
                f"{rate / ceilings[batch]:.0%} of the ceiling"
                + (
                    f"; floor {FLOOR:,}/s {'MEETS' if rate >= FLOOR else 'MISSES'}"
                    if batch > 1
                    else ""
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
