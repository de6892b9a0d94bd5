"""Hub outbox throughput and memory.

1. Events/s durably written (WAL, synchronous=FULL): one producer awaiting each emit, then
   64 concurrent producers (group commit).
2. Events/s written durably AND forwarded + acked over a loopback WebSocket to an in-bench
   server, sustained for a few seconds.
3. RSS of a hub process holding 100,000 unsent events while its uplink runs, against the
   same process with an empty outbox.

Run: python bench/agent_outbox.py [--seconds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Collection
from pathlib import Path

import psutil
from websockets.asyncio.server import ServerConnection, serve

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _server import machine_line

from device_agent.clock import vitals_event
from device_agent.config import UplinkConfig
from device_agent.outbox import Outbox
from device_agent.uplink import Uplink
from eldercare_protocol import Measurement, MeasurementCode, VitalsEvent

TOKEN = "bench-token-000"


def bp_reading(i: int) -> VitalsEvent:
    return vitals_event(
        device="bench-bp",
        measurements=[
            Measurement(code=MeasurementCode.SYSTOLIC, value=120 + i % 40, unit="mm[Hg]"),
            Measurement(code=MeasurementCode.DIASTOLIC, value=80 + i % 20, unit="mm[Hg]"),
            Measurement(code=MeasurementCode.PULSE, value=70 + i % 15, unit="/min"),
        ],
        raw_hex="1e8a0058007800000004111429" + "3b3c00012700",
    )


class WatchedOutbox(Outbox):
    """An outbox that notes when acks land (to time delivery without polling)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.acked: dict[str, float] = {}
        self.acked_total = 0
        self._target = 0
        self._reached = asyncio.Event()
        self._waiters: dict[str, asyncio.Event] = {}

    async def ack(self, ids: Collection[str]) -> int:
        deleted = await super().ack(ids)
        now = time.perf_counter()
        for event_id in ids:
            self.acked[event_id] = now
            if (waiter := self._waiters.pop(event_id, None)) is not None:
                waiter.set()
        self.acked_total += deleted
        if self.acked_total >= self._target:
            self._reached.set()
        return deleted

    async def wait_for(self, event_id: str) -> float:
        """When ``event_id`` was acked (perf_counter seconds)."""
        if event_id not in self.acked:
            waiter = self._waiters.setdefault(event_id, asyncio.Event())
            await waiter.wait()
        return self.acked[event_id]

    async def wait_acked(self, total: int) -> None:
        self._target = total
        if self.acked_total < total:
            self._reached.clear()
            await self._reached.wait()


class AckServer:
    """Loopback server that acks every events message at once (after "committing" it)."""

    def __init__(self, *, hold: bool = False) -> None:
        self.hold = hold
        self.received = 0
        self.port = 0

    async def _handle(self, ws: ServerConnection) -> None:
        with contextlib.suppress(Exception):
            async for raw in ws:
                ids = [event["id"] for event in json.loads(raw)["events"]]
                self.received += len(ids)
                if not self.hold:
                    await ws.send(json.dumps({"type": "ack", "ids": ids}))

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[AckServer]:
        async with serve(self._handle, "127.0.0.1", 0, max_size=2**21) as server:
            self.port = server.sockets[0].getsockname()[1]
            yield self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def produce(outbox: Outbox, *, producers: int, seconds: float) -> int:
    count = 0
    deadline = time.monotonic() + seconds

    async def one() -> None:
        nonlocal count
        while time.monotonic() < deadline:
            await outbox.emit(bp_reading(count))
            count += 1

    await asyncio.gather(*(one() for _ in range(producers)))
    return count


async def bench_writes(directory: Path, seconds: float) -> None:
    for producers in (1, 64):
        outbox = Outbox(directory / f"writes-{producers}.sqlite3")
        started = time.perf_counter()
        count = await produce(outbox, producers=producers, seconds=seconds)
        elapsed = time.perf_counter() - started
        await outbox.close()
        print(
            f"durable writes, {producers:>2} producer(s): {count / elapsed:>9,.0f} events/s "
            f"({count:,} in {elapsed:.1f} s)"
        )


async def bench_forwarding(directory: Path, seconds: float) -> None:
    outbox = WatchedOutbox(directory / "forward.sqlite3")
    server = AckServer()
    async with server.running():
        uplink = Uplink(outbox=outbox, server_url=server.url, token=TOKEN)
        task = asyncio.create_task(uplink.run())
        started = time.perf_counter()
        count = await produce(outbox, producers=64, seconds=seconds)
        produced_at = time.perf_counter()
        await outbox.wait_acked(count)
        drained = time.perf_counter()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await outbox.close()
    print(
        f"written + forwarded + acked (64 producers, loopback WS): "
        f"{count / (drained - started):>9,.0f} events/s sustained ({count:,} events; "
        f"backlog drained {1000 * (drained - produced_at):.0f} ms after producers stopped; "
        f"{uplink.state.frames_sent} frames)"
    )


async def fill(path: Path, count: int) -> None:
    outbox = Outbox(path)
    for start in range(0, count, 5000):
        await outbox.emit_many(bp_reading(i) for i in range(start, min(count, start + 5000)))
    await outbox.close()


async def hold_child(path: Path, seconds: float) -> None:
    """Open the outbox, run the uplink against a server that never acks, report RSS."""
    outbox = Outbox(path)
    server = AckServer(hold=True)
    async with server.running():
        uplink = Uplink(outbox=outbox, server_url=server.url, token=TOKEN, settings=UplinkConfig())
        task = asyncio.create_task(uplink.run())
        await asyncio.sleep(seconds)
        depth = await outbox.depth()
        rss = psutil.Process().memory_info().rss
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await outbox.close()
    print(json.dumps({"rss": rss, "depth": depth, "in_flight_events": server.received}))


def measure_child(path: Path, seconds: float) -> dict[str, int]:
    out = subprocess.run(
        [sys.executable, __file__, "--hold-child", str(path), "--seconds", str(seconds)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, int] = json.loads(out.strip().splitlines()[-1])
    return result


def bench_memory(directory: Path) -> None:
    full, empty = directory / "full.sqlite3", directory / "empty.sqlite3"
    started = time.perf_counter()
    asyncio.run(fill(full, 100_000))
    filled = time.perf_counter() - started
    asyncio.run(fill(empty, 0))
    size = sum(p.stat().st_size for p in directory.glob("full.sqlite3*")) / 2**20
    loaded = measure_child(full, 2.0)
    baseline = measure_child(empty, 2.0)
    print(
        f"100,000 unsent events: outbox file {size:.0f} MiB (filled in {filled:.1f} s); "
        f"hub process RSS {loaded['rss'] / 2**20:.1f} MiB vs {baseline['rss'] / 2**20:.1f} MiB "
        f"with an empty outbox (+{(loaded['rss'] - baseline['rss']) / 2**20:.1f} MiB; "
        f"depth {loaded['depth']:,}, {loaded['in_flight_events']:,} events in flight)"
    )


def main(seconds: float) -> None:
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="agent-outbox-bench-") as tmp:
        directory = Path(tmp)
        print(f"outbox in {directory}")
        asyncio.run(bench_writes(directory, seconds))
        asyncio.run(bench_forwarding(directory, seconds))
        bench_memory(directory)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--hold-child", type=Path, default=None)
    args = parser.parse_args()
    if args.hold_child is not None:
        asyncio.run(hold_child(args.hold_child, args.seconds))
    else:
        main(args.seconds)
