"""Press-to-acknowledged latency over loopback: emit a panic, time until the server's ack.

The clock starts before ``emit`` (so the durable SQLite commit is included) and stops when
the uplink deletes the acked id. Measured idle and with a background stream of readings
(a few hundred per second, plus a 20,000-reading backlog queued before the presses).

Run: python bench/agent_latency.py [--presses 200]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path
from uuid import uuid4

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent_outbox import TOKEN, AckServer, WatchedOutbox, bp_reading, machine_line

from device_agent.clock import utc_now
from device_agent.uplink import Uplink
from eldercare_protocol import PanicEvent, PanicPayload


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


async def run(directory: Path, *, presses: int, background_rate: float, backlog: int) -> None:
    outbox = WatchedOutbox(directory / f"latency-{background_rate}-{backlog}.sqlite3")
    if backlog:
        for start in range(0, backlog, 5000):
            await outbox.emit_many(bp_reading(i) for i in range(start, start + 5000))
    server = AckServer()
    latencies: list[float] = []
    async with server.running():
        uplink = Uplink(outbox=outbox, server_url=server.url, token=TOKEN)
        tasks = [asyncio.create_task(uplink.run())]

        async def background() -> None:
            i = 0
            while True:
                await outbox.emit(bp_reading(i))
                i += 1
                await asyncio.sleep(1 / background_rate)

        if background_rate:
            tasks.append(asyncio.create_task(background()))
        await asyncio.sleep(0.3)  # connected, backlog streaming
        for _ in range(presses):
            event = PanicEvent(
                id=uuid4(),
                device="bench-button",
                occurred_at=utc_now(),
                payload=PanicPayload(source="simulated"),
            )
            pressed = time.perf_counter()
            await outbox.emit(event)
            acked = await outbox.wait_for(str(event.id))
            latencies.append(1000 * (acked - pressed))
            await asyncio.sleep(0.01)
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    await outbox.close()
    label = (
        f"with {background_rate:.0f} readings/s + {backlog:,} backlog"
        if background_rate or backlog
        else "idle"
    )
    print(
        f"panic press → server ack, {label:<36}: p50 {percentile(latencies, 50):6.2f} ms, "
        f"p99 {percentile(latencies, 99):6.2f} ms, max {max(latencies):6.2f} ms, "
        f"mean {statistics.fmean(latencies):6.2f} ms (n={len(latencies)})"
    )


async def main(presses: int) -> None:
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="agent-latency-bench-") as tmp:
        directory = Path(tmp)
        await run(directory, presses=presses, background_rate=0, backlog=0)
        await run(directory, presses=presses, background_rate=300, backlog=20_000)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--presses", type=int, default=200)
    asyncio.run(main(parser.parse_args().presses))
