"""Soak: the demo's realistic load times ``--scale`` for ``--minutes``, the server sampled every
``--interval-s``: is anything growing that should stay flat?

The demo (``eldercare demo``) is 36 elders, 3 home hubs fed by ``eldercare-agent simulate``
(a reading every 20 s per hub, a quarter of them abnormal, a press every 135 s per hub, a
heartbeat every 30 s), 2 dispatchers and a supervisor on the console, and 6 caregivers and
volunteers whose care app syncs. Times ``--scale`` (100 by default) that is:

- homes: ``3 × scale`` hubs in ``eldercare-agent simulate`` processes of ``--hubs-per-agent``
  hubs each, with the demo's own simulator arguments (``server/devices/demo.py``);
- elders: ``36 × scale``, each with a caregiver and a volunteer (12 elders apiece);
- consoles: ``3 × scale`` dispatcher WebSockets on ``/api/v1/console/ws``; a desk acts on
  what they show as dispatchers would (acknowledge, then close as a false alarm once an
  alert is ``--handle-after-s`` old), so the open queue stays the size a staffed centre has;
- caregivers syncing: ``6 × scale`` care-app users, each syncing about every
  ``--sync-every-s`` (push a visit's records now and then, then pull since its cursor), as
  the app does when a visit is recorded or the tablet wakes.

One ``eldercare`` server process (uvicorn, as ``bench/_server.py`` starts it) on a scratch
PostgreSQL database (``--db sqlite`` for a temp SQLite file). Every ``--interval-s``: the
server process's RSS, open file descriptors, sockets and threads (psutil); PostgreSQL
backends on the database (``pg_stat_activity``); and from ``/metrics`` the queues:
readings waiting for triage, overdue timers, open alerts, console sockets and the notices
queued for them, hub sockets, the pool's checked-out connections.

At the end: a PNG under ``var/`` (matplotlib), a table of start / middle / end values and a
verdict per series from its least-squares slope over the last half of the run (RSS: flat
below ``--rss-mib-per-hour``; the counts: flat below 10 % of their median, or 5, per hour).

Run: python bench/soak.py [--minutes 30] [--scale 100] [--db postgresql|sqlite]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._server import bench_database, free_port, machine_line, server_process  # noqa: E402
from bench._soak_load import Load, Sizes, agents, people_process, seed  # noqa: E402
from bench._soak_watch import (  # noqa: E402
    Sample,
    Sampler,
    Verdict,
    plot,
    sample_until,
    table,
    verdicts,
    wait_connected,
)
from tests.support.faultrun import SECRET  # noqa: E402


@dataclass
class Result:
    samples: list[Sample]
    load: Load
    verdicts: list[Verdict]
    sizes: Sizes
    database: str
    seconds: float

    @property
    def flat(self) -> bool:
        return all(v.flat for v in self.verdicts)


def run_soak(
    sizes: Sizes, *, database: str = "postgresql", rss_mib_per_hour: float = 20.0,
    say: Callable[[str], None] = print,
) -> Result:  # fmt: skip
    started = time.monotonic()
    with bench_database(database) as url, tempfile.TemporaryDirectory() as tmp:
        say(f"seeding {sizes.elders} elders, {sizes.hubs} hubs, {sizes.consoles} console "
            f"users, {sizes.sync_users} caregivers and volunteers on {database}")  # fmt: skip
        fixtures = seed(url, sizes)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with server_process(
            url, port, ELDERCARE_SECRET_KEY=SECRET, ELDERCARE_DATA_DIR=tmp,
            ELDERCARE_DEVICES_SUPERVISION_INTERVAL_SECONDS="30", start_timeout_s=180,
        ) as server, agents(base, fixtures.hub_tokens, sizes, Path(tmp)) as pids:  # fmt: skip
            say(f"server pid {server.pid}; {len(pids)} agent processes; load for "
                f"{sizes.minutes:g} min, a sample every {sizes.interval_s:g} s")  # fmt: skip
            context = multiprocessing.get_context("spawn")
            stop_flag, out = context.Event(), context.Queue()
            saved = Path(tmp) / "fixtures.json"
            saved.write_text(json.dumps(dataclasses.asdict(fixtures), default=str))
            people = context.Process(
                target=people_process, args=(base, saved, sizes, stop_flag, out), daemon=True
            )
            people.start()
            sampler = Sampler(server.pid, base, url)
            load = Load()
            connected = wait_connected(sampler, sizes, within=sizes.warm_up_s)
            say(f"connected: {connected}; sampling")
            samples: list[Sample] = []
            try:
                sample_until(sampler, sizes, say, samples)
            except KeyboardInterrupt:  # stopped early: report what was sampled
                say(f"stopped after {len(samples)} samples")
            finally:
                stop_flag.set()
                with contextlib.suppress(Exception):
                    load = out.get(timeout=120)
                people.join(timeout=30)
                if people.is_alive():
                    people.kill()
                sampler.engine.dispose()
    found = verdicts(samples, rss_mib_per_hour)
    return Result(samples, load, found, sizes, database, time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--scale", type=int, default=100, help="times the demo's load")
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--interval-s", type=float, default=10.0)
    parser.add_argument("--hubs-per-agent", type=int, default=30)
    parser.add_argument("--sync-every-s", type=float, default=120.0)
    parser.add_argument("--handle-after-s", type=float, default=30.0)
    parser.add_argument("--rss-mib-per-hour", type=float, default=20.0,
                        help="RSS slope over the last half above which it is growing")  # fmt: skip
    parser.add_argument("--png", type=Path, default=None, help="default var/soak-<db>-<time>.png")
    args = parser.parse_args()
    # Stopped by hand (SIGTERM): unwind like Ctrl-C, so the server, the agents and the load
    # process are stopped by the run's own clean-up instead of left running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sizes = Sizes(scale=args.scale, minutes=args.minutes, interval_s=args.interval_s,
                  hubs_per_agent=args.hubs_per_agent, sync_every_s=args.sync_every_s,
                  handle_after_s=args.handle_after_s)  # fmt: skip
    print(machine_line())
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    result = run_soak(sizes, database=args.db, rss_mib_per_hour=args.rss_mib_per_hour,
                      say=lambda text: print(f"  {text}", flush=True))  # fmt: skip
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    png = args.png or ROOT / "var" / f"soak-{args.db}-{stamp}.png"
    title = (f"soak: x{sizes.scale} demo load on {args.db}, {sizes.minutes:g} min "
             f"({sizes.hubs} hubs, {sizes.consoles} consoles, {sizes.sync_users} syncing)")  # fmt: skip
    plot(result.samples, png, title)
    png.with_suffix(".json").write_text(json.dumps(
        [{"t": x.t, **x.values} for x in result.samples]))  # fmt: skip
    load = result.load
    print(f"\n{title}")
    print(table(result.verdicts))
    print(f"  HTTP answers: {dict(sorted(load.http.items()))}; console frames "
          f"{load.console_frames}, reconnects {load.console_reconnects}; records pushed "
          f"{load.pushed}, pulls {load.pulls}; alerts handled by the desk {load.handled}")  # fmt: skip
    if load.errors:
        print(f"  errors: {dict(load.errors.most_common(8))}")
    print(f"  load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"wall {result.seconds:.0f} s")  # fmt: skip
    print(f"  plot: {png} (samples: {png.with_suffix('.json').name})")
    print("  RESULT: " + ("FLAT" if result.flat else "GROWING: " + ", ".join(
        v.name for v in result.verdicts if not v.flat)))  # fmt: skip


if __name__ == "__main__":
    main()
