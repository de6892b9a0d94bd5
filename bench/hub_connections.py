"""Memory of one server process holding 10,000 concurrent hub WebSocket connections.

The server (uvicorn, one worker, SQLite) runs as its own process; a separate client process
opens the connections over loopback (each hub authenticated with its own token), sends one
heartbeat on each and waits for its ack, then holds them all open. RSS of the server is read
(psutil) before and with the connections held. Bounded: the client gives up after --timeout.

Run: python bench/hub_connections.py [--connections 10000] [--timeout 150]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
import uuid
from datetime import UTC, datetime

import psutil
from _server import bench_database, free_port, machine_line, make_hubs, server_process


def raise_fd_limit(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(hard, max(soft, wanted))
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


async def client(url: str, tokens: list[str], hold: float, limit_s: float) -> None:
    from websockets.asyncio.client import connect

    opened: list[object] = []
    failures = 0
    gate = asyncio.Semaphore(200)

    async def one(token: str) -> None:
        nonlocal failures
        async with gate:
            try:
                ws = await connect(
                    url, additional_headers={"Authorization": f"Bearer {token}"},
                    open_timeout=60, ping_interval=None,
                )  # fmt: skip
                beat = {
                    "id": str(uuid.uuid4()), "device": "hub", "kind": "heartbeat",
                    "occurred_at": datetime.now(UTC).isoformat(),
                    "payload": {"agent_version": "1.0", "uptime_s": 1, "outbox_depth": 0},
                }  # fmt: skip
                await ws.send(json.dumps({"type": "events", "events": [beat]}))
                assert json.loads(await ws.recv())["type"] == "ack"
                opened.append(ws)
            except Exception:
                failures += 1

    started = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*(one(t) for t in tokens)), timeout=limit_s)
    print(
        f"CLIENT opened={len(opened)} failures={failures} seconds={time.monotonic() - started:.1f}",
        flush=True,
    )
    await asyncio.sleep(hold)
    for ws in opened:
        await ws.close()  # type: ignore[attr-defined]


def client_main() -> None:
    url, tokens_file, hold, timeout = (
        sys.argv[2],
        sys.argv[3],
        float(sys.argv[4]),
        float(sys.argv[5]),
    )
    raise_fd_limit(65536)
    with open(tokens_file) as f:
        tokens = json.load(f)
    asyncio.run(client(url, tokens, hold, timeout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=150.0)
    args = parser.parse_args()
    print(machine_line())
    limit = raise_fd_limit(args.connections * 2 + 1024)  # the server process inherits it
    print(f"fd limit {limit}")
    import subprocess
    import tempfile

    with bench_database("sqlite") as db_url, tempfile.NamedTemporaryFile("w", suffix=".json") as f:
        tokens = make_hubs(db_url, args.connections)
        json.dump(tokens, f)
        f.flush()
        port = free_port()
        with server_process(db_url, port) as server:
            proc = psutil.Process(server.pid)
            time.sleep(1.0)
            idle = proc.memory_info().rss
            hold = 8.0
            client_proc = subprocess.Popen(
                [sys.executable, __file__, "--client", f"ws://127.0.0.1:{port}/api/v1/agent/ws",
                 f.name, str(hold), str(args.timeout)],
                stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            assert client_proc.stdout is not None
            line = client_proc.stdout.readline().strip()
            time.sleep(hold / 2)
            held = proc.memory_info().rss
            connections = sum(
                1 for c in proc.net_connections(kind="tcp") if c.status == psutil.CONN_ESTABLISHED
            )
            client_proc.wait(timeout=args.timeout + 60)
        print(line)
        print(f"server RSS idle:           {idle / 2**20:8.1f} MiB")
        print(f"server RSS with hubs held: {held / 2**20:8.1f} MiB ({connections} established)")
        if connections:
            print(f"per connection:            {(held - idle) / connections / 1024:8.1f} KiB")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        client_main()
    else:
        main()
