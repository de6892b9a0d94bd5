"""Panic button → server commit, per fault phase: no fault, a silent freeze, a cut, server down.

One server process (uvicorn) on a fresh database and one hub agent in this process (the real
outbox and uplink, with the settings a hub ships with) that reaches the server through a
loopback TCP proxy playing the faults (``tests/support/proxy.py``). A press is timed from
just before the outbox stores it to the moment its row is visible in the server's database
(polled every 10 ms on a connection of its own). A reading every second keeps the link busy
as a home's meters would.

Each press gets a fault of its own:
- no fault;
- freeze: the open connection goes silent without closing (a NAT timeout, a Wi-Fi ↔ 4G
  switch); new connections work;
- cut: every connection is reset and new ones refused for ``--cut-s``; the press comes 1 s in;
- server down: the server is killed (SIGKILL) and started again ``--down-s`` later; the press
  comes 1 s in.
For cut and server down it also prints "path back → commit": from the moment the proxy
heals or the restarted server answers, which is the part the agent controls.

Then, with ``--idle-s``, the bytes an idle hub's connection carries (keepalive pings only).

Run: python bench/faults.py [--db sqlite postgresql] [--presses 8] [--idle-s 0]

``--fleet``: the whole system under faults instead (``tests/support/faultrun.py``, the same
run ``tests/faults/`` makes at CI size): a fleet of real agent processes through fault
proxies to two server processes on a private PostgreSQL cluster, faults every few seconds
(agents killed, links cut, stalled, slowed and reset mid-frame, a server killed, PostgreSQL
restarted, a hub's disk filled), then the table: events and panics sent against stored,
alerts, timers, press → console, 5xx, outboxes left.

Run: python bench/faults.py --fleet [--hubs 500] [--hubs-per-agent 10] [--minutes 10]
     [--events 100000] [--panics 500] [--fault-every-s 4] [--db postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from _server import ROOT, bench_database, free_port, machine_line, make_hubs, server_process

sys.path.insert(0, str(ROOT))

from device_agent.clock import utc_now
from device_agent.config import UplinkConfig
from device_agent.outbox import Outbox
from device_agent.uplink import Uplink
from eldercare_protocol import (
    Measurement,
    MeasurementCode,
    PanicEvent,
    PanicPayload,
    VitalsEvent,
    VitalsPayload,
)
from tests.support.proxy import FaultProxy

WAIT_S = 120.0


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def reading(n: int) -> VitalsEvent:
    return VitalsEvent(
        id=uuid.uuid4(),
        device="AA:BB:CC:00:00:01",
        occurred_at=utc_now(),
        payload=VitalsPayload(
            measurements=[
                Measurement(code=MeasurementCode.SYSTOLIC, value=120 + n % 10, unit="mm[Hg]"),
                Measurement(code=MeasurementCode.DIASTOLIC, value=80, unit="mm[Hg]"),
            ],
            raw_hex="00",
        ),
    )


class Watcher:
    """Sees committed rows: its own engine, polled from a thread so the agent's loop runs on."""

    def __init__(self, db_url: str) -> None:
        self.engine = sa.create_engine(db_url)
        self.table = sa.table("agent_events", sa.column("id", sa.Uuid()))

    def _wait(self, event_id: uuid.UUID, timeout: float) -> float:
        query = (
            sa.select(sa.func.count()).select_from(self.table).where(self.table.c.id == event_id)
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.engine.connect() as conn:
                if conn.execute(query).scalar_one():
                    return time.monotonic()
            time.sleep(0.01)
        raise TimeoutError(f"event {event_id} not committed within {timeout:.0f} s")

    async def committed(self, event_id: uuid.UUID, within: float = WAIT_S) -> float:
        return await asyncio.to_thread(self._wait, event_id, within)

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM agent_events")).scalar_one())


class Bench:
    def __init__(self, db_url: str, token: str, state: Path) -> None:
        self.db_url = db_url
        self.port = free_port()
        self.watcher = Watcher(db_url)
        self.proxy = FaultProxy("127.0.0.1", self.port)
        self.outbox = Outbox(state / "outbox.sqlite3")
        self.token = token
        self.stack = contextlib.ExitStack()
        self.uplink: Uplink | None = None
        self.readings = 0
        self.panics: list[uuid.UUID] = []

    def server(self) -> Iterator[object]:
        # A loaded machine can take long to start Python and the app: wait, do not fail.
        return server_process(  # type: ignore[return-value]
            self.db_url, self.port, start_timeout_s=120, ELDERCARE_DEVICES_RATE_PER_SECOND="1000"
        )

    async def start_server(self) -> float:
        server = await asyncio.to_thread(self.stack.enter_context, self.server())
        self.process = server
        return time.monotonic()

    async def background(self) -> None:
        while True:
            await self.outbox.emit(reading(self.readings))
            self.readings += 1
            await asyncio.sleep(1.0)

    async def settled(self) -> None:
        """Connected over the WebSocket with nothing left to send."""
        assert self.uplink is not None
        deadline = time.monotonic() + WAIT_S
        while not (self.uplink.state.transport == "websocket" and await self.outbox.depth() == 0):
            if time.monotonic() > deadline:
                raise TimeoutError("the agent did not settle")
            await asyncio.sleep(0.05)

    async def press(self) -> tuple[uuid.UUID, float]:
        event = PanicEvent(
            id=uuid.uuid4(),
            device="bench-button",
            occurred_at=utc_now(),
            payload=PanicPayload(source="simulated"),
        )
        self.panics.append(event.id)
        pressed = time.monotonic()
        await self.outbox.emit(event)
        return event.id, pressed


async def run_db(kind: str, presses: int, args: argparse.Namespace) -> None:
    with bench_database(kind) as db_url, tempfile.TemporaryDirectory() as tmp:
        (token,) = make_hubs(db_url, 1)
        bench = Bench(db_url, token, Path(tmp))
        await bench.start_server()
        await bench.proxy.start()
        uplink = Uplink(
            outbox=bench.outbox, server_url=bench.proxy.url, token=token, settings=UplinkConfig()
        )
        bench.uplink = uplink
        tasks = [asyncio.create_task(uplink.run()), asyncio.create_task(bench.background())]
        results: dict[str, list[float]] = {}
        back: dict[str, list[float]] = {}
        rng = random.Random(3)
        print(f"\n{kind}: panic button → server commit (s)")
        print(f"  {'phase':<12} {'n':>3} {'p50':>7} {'p99':>7} {'max':>7}   path back → commit")

        def report(name: str) -> None:
            values = results[name]
            line = (
                f"  {name:<12} {len(values):>3} {pct(values, 50):7.2f} {pct(values, 99):7.2f} "
                f"{max(values):7.2f}"
            )
            if name in back:
                b = back[name]
                line += f"   p50 {pct(b, 50):.2f}  max {max(b):.2f}"
            print(line, flush=True)

        try:
            await bench.settled()
            phase = results.setdefault("no fault", [])
            for _ in range(presses * 2):
                await asyncio.sleep(rng.uniform(0.2, 0.6))
                event_id, pressed = await bench.press()
                phase.append(await bench.watcher.committed(event_id) - pressed)
            report("no fault")

            phase = results.setdefault("freeze", [])
            for _ in range(presses):
                await bench.settled()
                await asyncio.sleep(rng.uniform(0.5, 1.5))
                bench.proxy.freeze()
                await asyncio.sleep(rng.uniform(0.2, 1.0))
                event_id, pressed = await bench.press()
                phase.append(await bench.watcher.committed(event_id) - pressed)
                bench.proxy.heal()
            report("freeze")

            phase = results.setdefault("cut", [])
            back_phase = back.setdefault("cut", [])
            for _ in range(presses):
                await bench.settled()
                await asyncio.sleep(rng.uniform(0.5, 1.5))
                bench.proxy.cut()
                await asyncio.sleep(1.0)
                event_id, pressed = await bench.press()
                await asyncio.sleep(args.cut_s - 1.0)
                bench.proxy.heal()
                healed = time.monotonic()
                done = await bench.watcher.committed(event_id)
                phase.append(done - pressed)
                back_phase.append(max(0.0, done - healed))
            report("cut")

            phase = results.setdefault("server down", [])
            back_phase = back.setdefault("server down", [])
            for _ in range(presses):
                await bench.settled()
                await asyncio.sleep(rng.uniform(0.5, 1.5))
                bench.process.kill()  # type: ignore[attr-defined]
                await asyncio.to_thread(bench.process.wait)  # type: ignore[attr-defined]
                await asyncio.sleep(1.0)
                event_id, pressed = await bench.press()
                await asyncio.sleep(args.down_s - 1.0)
                answered = await bench.start_server()
                done = await bench.watcher.committed(event_id)
                phase.append(done - pressed)
                back_phase.append(max(0.0, done - answered))
            report("server down")

            if args.idle_s:
                await idle_cost(bench, tasks, args.idle_s)
            tasks[1].cancel()  # no reading may arrive between settling and counting
            with contextlib.suppress(asyncio.CancelledError):
                await tasks[1]
            await bench.settled()
            stored = await asyncio.to_thread(bench.watcher.count)
            expected = bench.readings + len(bench.panics)
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
            await bench.proxy.stop()
            await bench.outbox.close()
            bench.stack.close()
            bench.watcher.engine.dispose()
        print(
            f"  stored {stored} events, sent {expected} "
            f"({'none lost, none doubled' if stored == expected else 'MISMATCH'})"
        )


async def idle_cost(bench: Bench, tasks: list[asyncio.Task[None]], seconds: float) -> None:
    """Bytes on an idle connection: stop the readings, count what the proxy forwards."""
    tasks[1].cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await tasks[1]
    await bench.settled()
    await asyncio.sleep(1.0)
    up, down = bench.proxy.bytes_up, bench.proxy.bytes_down
    await asyncio.sleep(seconds)
    up, down = bench.proxy.bytes_up - up, bench.proxy.bytes_down - down
    print(
        f"  idle {seconds:.0f} s: {up} bytes up, {down} bytes down (WebSocket frames, "
        f"no TCP/IP or TLS overhead) = {(up + down) / seconds * 86400 / 1024:.1f} KiB/day"
    )
    tasks[1] = asyncio.create_task(bench.background())


def fleet(args: argparse.Namespace) -> None:
    from tests.support.faultrun import RunSize, run_fault_run

    seconds = args.minutes * 60
    rate = args.events / args.hubs / seconds  # readings per hub per second
    size = RunSize(
        agents=max(1, args.hubs // args.hubs_per_agent),
        hubs_per_agent=args.hubs_per_agent,
        servers=1 if args.db[0] == "sqlite" else 2,
        database="sqlite" if args.db[0] == "sqlite" else "postgresql",
        rate=rate,
        panic_every_s=args.hubs * seconds / args.panics,
        fault_s=seconds,
        fault_every_s=args.fault_every_s,
        heartbeat_s=30.0,
        console_bound_s=args.bound_s,
        disk_mb=64,
    )
    print(
        f"fleet: {size.agents * size.hubs_per_agent} hubs in {size.agents} agent processes, "
        f"{size.servers} server process(es) on {size.database}; {rate:.2f} readings/s per hub, "
        f"a press every ~{size.panic_every_s:.0f} s per hub; faults every "
        f"~{args.fault_every_s:.0f} s for {args.minutes:g} min",
        flush=True,
    )
    started = time.monotonic()
    report = run_fault_run(size, say=lambda text: print(f"  {text}", flush=True))
    print(report.table())
    print(f"  wall time {time.monotonic() - started:.0f} s")
    print("  RESULT: " + ("PASS" if not report.failures else "FAIL"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fleet", action="store_true", help="the whole-system fault run")
    parser.add_argument("--hubs", type=int, default=500)
    parser.add_argument("--hubs-per-agent", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--panics", type=int, default=500)
    parser.add_argument("--fault-every-s", type=float, default=4.0)
    parser.add_argument(
        "--bound-s", type=float, default=15.0,
        help="press (or the path back) → console; 15 s, NENA's 90 %% of calls (the test's too)",
    )  # fmt: skip
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--presses", type=int, default=8, help="presses per fault phase")
    parser.add_argument("--cut-s", type=float, default=5.0)
    parser.add_argument("--down-s", type=float, default=5.0)
    parser.add_argument("--idle-s", type=float, default=0.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    print(machine_line())
    if args.fleet:
        fleet(args)
        return
    print(
        f"one hub agent (default settings) through a fault proxy; {args.presses} presses per "
        f"fault phase ({args.presses * 2} without a fault); cut {args.cut_s:.0f} s, "
        f"server down {args.down_s:.0f} s"
    )
    for kind in args.db:
        asyncio.run(run_db(kind, args.presses, args))


if __name__ == "__main__":
    main()
