"""The scale-out shape of docs/scaling.md, run for real: several server processes behind one
port, separate reading workers, one PostgreSQL.

`eldercare serve --workers W` (uvicorn's workers share one listening socket, so the kernel
spreads connections over them), with readings left to `--readers` `eldercare worker`
processes (`ELDERCARE_DEVICES_READINGS=worker`). Hubs connect to the one port and send
readings in the background; `--consoles` dispatcher consoles connect to the same port, so
they land on different server processes (the bench finds each console's process from the
sockets the processes hold and prints how many processes serve a console). Then `--presses`
panic presses, each from a hub of its own, one after another: each must reach **every**
console, and must open exactly one alert.

Run: python bench/scaleout.py [--workers 2] [--readers 1] [--consoles 6] [--presses 60]
     [--hubs 100] [--rate 300] [--check]

With ``--check`` it exits 1 unless every press reached every console, no press opened two
alerts, and a console was served by every server process (the test in
tests/server/test_scaleout.py runs it at a small size).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import psutil
import sqlalchemy as sa
from _common import pct, summary
from _server import ROOT, bench_database, free_port, machine_line, make_hubs
from console_latency import (
    AGENT_WS,
    CONSOLE_WS,
    SECRET,
    background_load,
    events_message,
    make_dispatcher,
    wire_event,
)
from websockets.asyncio.client import ClientConnection, connect

PRESS_WAIT_S = 15.0


@contextlib.contextmanager
def cluster(
    url: str, port: int, *, workers: int, readers: int
) -> Iterator[subprocess.Popen[bytes]]:
    """`eldercare serve --workers` on one port plus `eldercare worker` processes."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ELDERCARE_DATABASE_URL": url,
        "ELDERCARE_ENV": "test",
        "ELDERCARE_SECRET_KEY": SECRET,
        "ELDERCARE_DEVICES_READINGS": "worker",
        "ELDERCARE_DEVICES_SUPERVISION_INTERVAL_SECONDS": "3600",
        "ELDERCARE_LOG_LEVEL": "WARNING",
    }
    cli = [sys.executable, "-m", "server.cli"]
    serve = subprocess.Popen(
        [*cli, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    reading_workers = [
        subprocess.Popen([*cli, "worker"], env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
        for _ in range(readers)
    ]
    try:
        deadline = time.monotonic() + 120
        while len(server_pids(serve)) < workers or not _answers(port):
            if time.monotonic() > deadline or serve.poll() is not None:
                raise RuntimeError("the server processes did not start")
            time.sleep(0.2)
        yield serve
    finally:
        for process in [serve, *reading_workers]:
            process.terminate()
        for process in [serve, *reading_workers]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


def server_pids(serve: subprocess.Popen[bytes]) -> list[int]:
    """uvicorn's worker processes (its supervisor holds no client connections)."""
    with contextlib.suppress(psutil.NoSuchProcess):
        children = psutil.Process(serve.pid).children(recursive=True)
        # The multiprocessing resource tracker is a child too; it never listens.
        return [c.pid for c in children if "resource_tracker" not in " ".join(c.cmdline())]
    return []


def process_of(pids: list[int], client_port: int) -> int | None:
    """Which server process holds the other end of a client connection."""
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            for conn in psutil.Process(pid).net_connections(kind="tcp"):
                if conn.raddr and conn.raddr.port == client_port:
                    return pid
    return None


class Console:
    """One dispatcher console: when it first saw each panic alert."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.first_seen: dict[str, float] = {}
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.ws:
            now = time.perf_counter()
            for alert in json.loads(raw).get("alerts", []):
                if alert.get("kind") == "panic":
                    self.first_seen.setdefault(alert["id"], now)


async def run_presses(
    base: str, tokens: list[str], cookie: str, consoles_n: int, pids: list[int]
) -> tuple[list[Console], list[tuple[float, set[str]]], dict[int, int]]:
    headers = {"Cookie": f"eldercare_session={cookie}"}
    sockets: list[ClientConnection] = []
    consoles = []
    by_process: dict[int, int] = {}
    # The kernel picks the process; open more consoles (up to 4x) until each process has one.
    while len(sockets) < consoles_n or (
        len(by_process) < len(pids) and len(sockets) < 4 * consoles_n
    ):
        ws = await connect(base + CONSOLE_WS, additional_headers=headers, max_size=None)
        await ws.recv()  # the first snapshot
        sockets.append(ws)
        consoles.append(Console(ws))
        pid = process_of(pids, ws.local_address[1])
        if pid is not None:
            by_process[pid] = by_process.get(pid, 0) + 1
    hubs = [await connect(base + AGENT_WS, additional_headers={"Authorization": f"Bearer {t}"})
            for t in tokens]  # fmt: skip
    progress(f"{len(sockets)} consoles, {len(hubs)} press hubs connected")
    presses: list[tuple[float, set[str]]] = []  # when pressed, and the alerts that appeared
    try:
        for hub in hubs:
            before = [set(c.first_seen) for c in consoles]
            start = time.perf_counter()
            await hub.send(
                events_message(wire_event("panic", {"press": "long", "source": "simulated"}))
            )
            deadline = time.monotonic() + PRESS_WAIT_S
            while time.monotonic() < deadline:
                if all(len(c.first_seen) > len(b) for c, b in zip(consoles, before, strict=True)):
                    break
                await asyncio.sleep(0.002)
            await asyncio.sleep(0.05)  # a second alert for the same press would show by now
            new = set().union(
                *(set(c.first_seen) - b for c, b in zip(consoles, before, strict=True))
            )
            presses.append((start, new))
            await hub.recv()  # the press's ack
    finally:
        for ws in [*hubs, *sockets]:
            await ws.close()
        for console in consoles:
            console.task.cancel()
    return consoles, presses, by_process


def progress(what: str) -> None:
    print(f"  {time.strftime('%H:%M:%S')} {what}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> bool:
    with bench_database("postgresql") as db_url:
        tokens = make_hubs(db_url, args.hubs + args.presses)
        cookie = make_dispatcher(db_url)
        progress(f"{len(tokens)} hubs made")
        port = free_port()
        base = f"ws://127.0.0.1:{port}"
        ctx = multiprocessing.get_context("spawn")
        stop, acked = ctx.Event(), ctx.Value("q", 0)
        with cluster(db_url, port, workers=args.workers, readers=args.readers) as serve:
            pids = server_pids(serve)
            progress(f"server processes up: {pids}")
            loader = ctx.Process(
                target=background_load, args=(base + AGENT_WS, tokens[: args.hubs], args.rate,
                                              stop, acked),
            )  # fmt: skip
            loader.start()
            time.sleep(3.0)
            load_from, load_count = time.monotonic(), acked.value
            consoles, presses, by_process = asyncio.run(
                run_presses(base, tokens[args.hubs :], cookie, args.consoles, pids)
            )
            achieved = (acked.value - load_count) / (time.monotonic() - load_from)
            stop.set()
            loader.join(timeout=15)
            if loader.is_alive():
                loader.terminate()
            time.sleep(5.0)
            engine = sa.create_engine(db_url)
            with engine.connect() as conn:
                panic_alerts = conn.execute(
                    sa.text("SELECT count(*) FROM alerts WHERE kind = 'panic'")
                ).scalar_one()
                waiting = conn.execute(
                    sa.text("SELECT count(*) FROM agent_event_backlog")
                ).scalar_one()
            engine.dispose()
    return report(args, consoles, presses, by_process, len(pids), achieved, panic_alerts, waiting)


def report(
    args: argparse.Namespace,
    consoles: list[Console],
    presses: list[tuple[float, set[str]]],
    by_process: dict[int, int],
    processes: int,
    achieved: float,
    panic_alerts: int,
    waiting: int,
) -> bool:
    latencies: list[float] = []
    missed = 0
    for start, alerts in presses:
        for console in consoles:
            seen = [console.first_seen[a] for a in alerts if a in console.first_seen]
            if seen:
                latencies.append((min(seen) - start) * 1000)
            else:
                missed += 1
    doubled = sum(1 for _, alerts in presses if len(alerts) > 1)
    unseen = sum(1 for _, alerts in presses if not alerts)
    print(f"shape: {processes} server processes on one port, {args.readers} reading worker(s), "
          f"PostgreSQL; {args.hubs} hubs sending {achieved:.0f} readings/s acked "
          f"(target {args.rate}); {len(consoles)} consoles")  # fmt: skip
    print(f"consoles per server process: {sorted(by_process.values(), reverse=True)} "
          f"({len(by_process)} of {processes} processes serve a console)")  # fmt: skip
    print(f"presses: {len(presses)}; panic alerts in the database: {panic_alerts}; "
          f"presses that opened two alerts: {doubled}; presses no console saw: {unseen}")  # fmt: skip
    print(f"(press, console) pairs: {len(presses) * len(consoles)}, missed: {missed}")
    if latencies:
        print(f"press → every console: {summary(latencies)} (p99 {pct(latencies, 99):.0f} ms)")
    print(f"readings stored but not yet triaged 5 s after the load stopped: {waiting}")
    ok = (
        missed == 0
        and doubled == 0
        and panic_alerts == len(presses)
        and len(by_process) == processes
    )
    print("every press reached every console once: " + ("yes" if ok else "NO"), flush=True)
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2, help="server processes on the port")
    parser.add_argument("--readers", type=int, default=1, help="`eldercare worker` processes")
    parser.add_argument("--consoles", type=int, default=6)
    parser.add_argument("--presses", type=int, default=60)
    parser.add_argument("--hubs", type=int, default=100, help="hubs sending readings")
    parser.add_argument("--rate", type=int, default=300, help="readings per second in all")
    parser.add_argument("--check", action="store_true", help="exit 1 unless it all held")
    args = parser.parse_args()
    print(machine_line())
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    ok = run(args)
    if args.check and not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
