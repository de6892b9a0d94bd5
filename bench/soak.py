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
import asyncio
import contextlib
import dataclasses
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psutil  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from bench._common import make_elders  # noqa: E402
from bench._server import bench_database, free_port, machine_line, server_process  # noqa: E402
from bench.sync import week_of_records  # noqa: E402
from tests.support.faultrun import SECRET, make_fleet  # noqa: E402

# The demo, per unit of scale (server/seed.py, server/devices/demo.py).
DEMO_HUBS = 3
DEMO_ELDERS = 36
DEMO_CONSOLES = 3  # dispatcher, dispatcher2, supervisor
DEMO_SYNC_USERS = 6  # caregiver 1-3, volunteer 1-3
RECORDS_PER_VISIT = 4
METRIC = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$")


@dataclass
class Sizes:
    scale: int = 100
    minutes: float = 30.0
    interval_s: float = 10.0
    hubs_per_agent: int = 30
    sync_every_s: float = 120.0
    handle_after_s: float = 30.0
    warm_up_s: float = 300.0

    @property
    def hubs(self) -> int:
        return DEMO_HUBS * self.scale

    @property
    def elders(self) -> int:
        return DEMO_ELDERS * self.scale

    @property
    def consoles(self) -> int:
        return DEMO_CONSOLES * self.scale

    @property
    def sync_users(self) -> int:
        return DEMO_SYNC_USERS * self.scale


@dataclass
class Sample:
    t: float  # seconds since the load started
    values: dict[str, float]


@dataclass
class Load:
    """What the clients did, for the table."""

    http: Counter[str] = field(default_factory=Counter)
    console_frames: int = 0
    console_reconnects: int = 0
    pushed: int = 0
    pulls: int = 0
    handled: int = 0
    errors: Counter[str] = field(default_factory=Counter)


@dataclass
class Fixtures:
    hub_tokens: list[str]
    console_cookies: list[str]
    desk_tokens: list[str]
    sync_users: list[tuple[str, list[uuid.UUID]]]  # bearer token, elders


# --- the municipality, times scale ----------------------------------------------------------


def seed(url: str, sizes: Sizes) -> Fixtures:
    from sqlmodel import Session

    from server.auth.models import Role, User
    from server.auth.service import issue_token
    from server.config import Settings
    from server.db import make_engine
    from server.elders.models import Elder

    hub_tokens, _hub_ids, _cookie = make_fleet(url, sizes.hubs)
    settings = Settings(env="test", database_url=url, secret_key=SECRET)
    engine = make_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            make_elders(session, max(0, sizes.elders - sizes.hubs))
            elder_ids = list(session.exec(sa.select(Elder.id).order_by(Elder.id)).scalars())  # type: ignore[call-overload]
            half = sizes.sync_users // 2
            carers = [
                User(username=f"soak-cg{i}", full_name="-", password_hash="-",
                     role=Role.CAREGIVER if i < half else Role.VOLUNTEER)
                for i in range(sizes.sync_users)
            ]  # fmt: skip
            desk = [
                User(username=f"soak-desk{i}", full_name="-", password_hash="-",
                     role=Role.SUPERVISOR if i % DEMO_CONSOLES == 2 else Role.DISPATCHER)
                for i in range(sizes.consoles)
            ]  # fmt: skip
            session.add_all(carers + desk)
            session.flush()
            # Each elder has a caregiver and a volunteer, as in the demo: 12 elders apiece.
            mine: dict[int, list[uuid.UUID]] = {i: [] for i in range(len(carers))}
            caregivers, volunteers = max(1, half), max(1, len(carers) - half)
            for n, elder_id in enumerate(elder_ids):
                cg, vol = n % caregivers, half + n % volunteers
                session.execute(
                    sa.update(Elder).where(Elder.id == elder_id)  # type: ignore[arg-type]
                    .values(caregiver_id=carers[cg].id, volunteer_id=carers[vol].id)
                )  # fmt: skip
                mine[cg].append(elder_id)
                if vol < len(carers):
                    mine[vol].append(elder_id)
            session.commit()
            sync_users = [
                (issue_token(session, user, settings=settings), mine[i])
                for i, user in enumerate(carers)
            ]
            cookies = [issue_token(session, u, settings=settings, purpose="session") for u in desk]
            tokens = [issue_token(session, u, settings=settings) for u in desk]
            session.commit()
    finally:
        engine.dispose()
    return Fixtures(hub_tokens, cookies, tokens, sync_users)


@contextlib.contextmanager
def agents(base: str, tokens: list[str], sizes: Sizes, state: Path) -> Iterator[list[int]]:
    """The demo's simulator, ``hubs_per_agent`` hubs to a process."""
    from server.config import Settings
    from server.devices.demo import simulator_args

    procs: list[subprocess.Popen[bytes]] = []
    try:
        for n in range(0, len(tokens), sizes.hubs_per_agent):
            settings = Settings(env="test", data_dir=state / f"agent{n:04d}", secret_key=SECRET)
            args = simulator_args(
                settings, server_url=base, tokens=tokens[n : n + sizes.hubs_per_agent]
            )
            with (state / f"agent{n:04d}.log").open("wb") as log:
                env = {**os.environ, "PYTHONPATH": str(ROOT)}
                procs.append(
                    subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
                )
        yield [p.pid for p in procs]
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


# --- the people: consoles, a desk, caregivers -----------------------------------------------


class Consoles:
    """``consoles`` console sockets; the first keeps the open queue for the desk."""

    def __init__(self, ws_base: str, cookies: list[str], load: Load) -> None:
        self.ws_base = ws_base
        self.cookies = cookies
        self.load = load
        self.open: dict[str, float] = {}  # alert id → when first shown (monotonic)

    async def one(self, index: int, stop: asyncio.Event) -> None:
        headers = {"Cookie": f"eldercare_session={self.cookies[index]}"}
        await asyncio.sleep(index * 0.02)  # not all at once
        while not stop.is_set():
            try:
                async with connect(
                    self.ws_base + "/api/v1/console/ws", additional_headers=headers,
                    open_timeout=30, ping_interval=20, ping_timeout=60, max_size=None,
                ) as ws:  # fmt: skip
                    while not stop.is_set():
                        try:
                            message = await asyncio.wait_for(ws.recv(), 1.0)
                        except TimeoutError:
                            continue
                        self.load.console_frames += 1
                        if index == 0:
                            self._note(json.loads(message))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a refused or dropped socket: counted, then again
                self.load.console_reconnects += 1
                self.load.errors[f"console {type(exc).__name__}"] += 1
                await asyncio.sleep(1.0)

    def _note(self, frame: dict[str, Any]) -> None:
        now = time.monotonic()
        if frame.get("type") == "snapshot":
            self.open = {a["id"]: self.open.get(a["id"], now) for a in frame.get("alerts", [])}
        elif frame.get("type") == "changes":
            for alert in frame.get("alerts", []):
                self.open.setdefault(alert["id"], now)
            for closed in frame.get("closed", []):
                self.open.pop(closed, None)


async def desk(
    client: httpx.AsyncClient, consoles: Consoles, tokens: list[str], sizes: Sizes,
    load: Load, stop: asyncio.Event,
) -> None:  # fmt: skip
    """Dispatchers working the queue they see: acknowledge, then close as a false alarm (a
    few at once, as several dispatchers would)."""
    turn = 0
    handling: set[str] = set()
    desks = asyncio.Semaphore(8)

    async def handle(alert_id: str, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with desks:
            for action, body in (("acknowledge", {}), ("false-alarm", {"note": "soak"})):
                status = await _request(
                    client, load, "POST", f"/api/v1/alerts/{alert_id}/{action}",
                    headers=headers, json=body,
                )  # fmt: skip
                if status not in (200, 409):
                    break
        load.handled += 1
        consoles.open.pop(alert_id, None)
        handling.discard(alert_id)

    working: set[asyncio.Task[None]] = set()
    try:
        while not stop.is_set():
            now = time.monotonic()
            for alert_id, seen in list(consoles.open.items()):
                if now - seen >= sizes.handle_after_s and alert_id not in handling:
                    handling.add(alert_id)
                    task = asyncio.create_task(handle(alert_id, tokens[turn % len(tokens)]))
                    turn += 1
                    working.add(task)
                    task.add_done_callback(working.discard)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 2.0)
    finally:
        for task in list(working):
            task.cancel()


async def caregiver(
    client: httpx.AsyncClient, token: str, elders: list[uuid.UUID], sizes: Sizes,
    load: Load, stop: asyncio.Event, rng: random.Random,
) -> None:  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    waiting: list[dict[str, Any]] = []
    cursor: str | None = None
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), rng.uniform(0, sizes.sync_every_s))
    while not stop.is_set():
        if elders and rng.random() < 0.5:  # a visit recorded since the last sync
            if len(waiting) < RECORDS_PER_VISIT:
                waiting = week_of_records(elders, datetime.now(UTC) - timedelta(days=7))
            batch, waiting = waiting[:RECORDS_PER_VISIT], waiting[RECORDS_PER_VISIT:]
            if await _request(client, load, "POST", "/api/v1/sync", headers=headers,
                              json={"records": batch}) == 200:  # fmt: skip
                load.pushed += len(batch)
        params = {"since": cursor} if cursor else {}
        response = await _send(client, load, "GET", "/api/v1/sync", headers=headers, params=params)
        if response is not None and response.status_code == 200:
            cursor = response.json()["cursor"]
            load.pulls += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), sizes.sync_every_s * rng.uniform(0.5, 1.5))


async def _send(
    client: httpx.AsyncClient, load: Load, method: str, path: str, **kwargs: Any
) -> httpx.Response | None:
    try:
        response = await client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        load.errors[f"{method} {type(exc).__name__}"] += 1
        return None
    load.http[f"{response.status_code // 100}xx"] += 1
    if response.status_code >= 500:
        load.errors[f"{method} {path.split('/')[3]} {response.status_code}"] += 1
    return response


async def _request(
    client: httpx.AsyncClient, load: Load, method: str, path: str, **kwargs: Any
) -> int:
    response = await _send(client, load, method, path, **kwargs)
    return 0 if response is None else response.status_code


# --- the sampler ----------------------------------------------------------------------------


class Sampler:
    def __init__(self, pid: int, base: str, db_url: str) -> None:
        self.proc = psutil.Process(pid)
        self.base = base
        self.engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
        self.postgres = self.engine.dialect.name == "postgresql"

    def sample(self) -> dict[str, float]:
        values: dict[str, float] = {}
        with self.proc.oneshot():
            values["rss_mib"] = self.proc.memory_info().rss / 2**20
            values["fds"] = self.proc.num_fds()
            values["threads"] = self.proc.num_threads()
            cpu = self.proc.cpu_times()
            values["cpu_s"] = cpu.user + cpu.system
        values["sockets"] = len(self.proc.net_connections(kind="inet"))
        with self.engine.connect() as conn:
            if self.postgres:
                # Every backend on this database but this one: the server's pool, its
                # LISTEN connection, the agents' nothing (they speak HTTP).
                values["pg_backends"] = conn.execute(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).scalar_one()
            values["events_stored"] = conn.execute(
                sa.text("SELECT count(*) FROM agent_events")
            ).scalar_one()
        values.update(self.metrics())
        values["load1"] = os.getloadavg()[0]
        return values

    def metrics(self) -> dict[str, float]:
        try:
            text = httpx.get(self.base + "/metrics", timeout=5).text
        except httpx.HTTPError:
            return {}
        out: dict[str, float] = {"open_alerts": 0.0}
        wanted = {
            "eldercare_readings_queue_depth": "readings_queue",
            "eldercare_timers_overdue": "timers_overdue",
            "eldercare_console_sockets": "console_sockets",
            "eldercare_console_queue_depth": "console_queue",
            "eldercare_hub_sockets": "hub_sockets",
        }
        for line in text.splitlines():
            m = METRIC.match(line)
            if not m:
                continue
            name, labels, value = m.group(1), m.group(2) or "", float(m.group(3))
            if name in wanted:
                out[wanted[name]] = value
            elif name == "eldercare_open_alerts":
                out["open_alerts"] += value
            elif name == "eldercare_db_pool_connections" and 'state="checkedout"' in labels:
                out["pool_checked_out"] = value
        return out


# --- the verdict ----------------------------------------------------------------------------

# The series that must stay flat; the others (CPU time, events stored, load) only inform.
FLAT = (
    "rss_mib", "fds", "sockets", "threads", "pg_backends", "readings_queue", "timers_overdue",
    "open_alerts", "console_sockets", "console_queue", "hub_sockets", "pool_checked_out",
)  # fmt: skip


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope, per hour."""
    if len(points) < 3:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    if den == 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den * 3600


@dataclass
class Verdict:
    name: str
    start: float
    middle: float
    end: float
    slope: float  # per hour, over the last half
    limit: float
    flat: bool


def verdicts(samples: list[Sample], rss_mib_per_hour: float) -> list[Verdict]:
    out: list[Verdict] = []
    if not samples:
        return out
    half = samples[len(samples) // 2 :]
    names = [n for n in FLAT if any(n in s.values for s in samples)]
    names += [n for n in ("cpu_s", "events_stored", "load1") if any(n in s.values for s in samples)]
    for name in names:
        series = [(s.t, s.values[name]) for s in samples if name in s.values]
        late = [(s.t, s.values[name]) for s in half if name in s.values]
        slope = slope_per_hour(late)
        if name == "rss_mib":
            limit = rss_mib_per_hour
        else:
            limit = max(5.0, 0.1 * statistics.median(v for _, v in late)) if late else 5.0
        flat = name not in FLAT or slope <= limit
        out.append(Verdict(name, series[0][1], series[len(series) // 2][1], series[-1][1],
                           slope, limit, flat))  # fmt: skip
    return out


def table(found: list[Verdict]) -> str:
    lines = [f"  {'series':<17} {'start':>9} {'middle':>9} {'end':>9} {'slope/h (last half)':>20}"
             f" {'limit/h':>9}  verdict"]  # fmt: skip
    for v in found:
        verdict = "FLAT" if v.flat else "GROWING"
        if v.name not in FLAT:
            verdict = "(grows by design)" if v.name != "load1" else "(machine)"
        lines.append(f"  {v.name:<17} {v.start:>9.1f} {v.middle:>9.1f} {v.end:>9.1f} "
                     f"{v.slope:>20.1f} {v.limit:>9.1f}  {verdict}")  # fmt: skip
    return "\n".join(lines)


def plot(samples: list[Sample], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels: list[tuple[str, list[str]]] = [
        ("server RSS (MiB)", ["rss_mib"]),
        ("file descriptors, sockets, threads", ["fds", "sockets", "threads"]),
        ("database connections", ["pg_backends", "pool_checked_out"]),
        ("WebSockets", ["console_sockets", "hub_sockets"]),
        ("queues", ["readings_queue", "console_queue", "timers_overdue", "open_alerts"]),
        ("machine load (1 min)", ["load1"]),
    ]
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 2.2 * len(panels)), sharex=True)
    for ax, (label, names) in zip(axes, panels, strict=True):
        for name in names:
            points = [(s.t / 60, s.values[name]) for s in samples if name in s.values]
            if points:
                ax.plot([p[0] for p in points], [p[1] for p in points], label=name)
        ax.set_ylabel(label, fontsize=8)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    axes[-1].set_xlabel("minutes")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


# --- the run --------------------------------------------------------------------------------


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


async def _people(base: str, fixtures: Fixtures, sizes: Sizes, stop_flag: Any) -> Load:
    """Consoles, the desk and the caregivers until ``stop_flag`` (a process-shared event)."""
    load = Load()
    stop = asyncio.Event()
    consoles = Consoles(base.replace("http://", "ws://"), fixtures.console_cookies, load)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:
        rng = random.Random(18)
        tasks = [asyncio.create_task(consoles.one(i, stop)) for i in range(sizes.consoles)]
        tasks.append(asyncio.create_task(desk(client, consoles, fixtures.desk_tokens, sizes,
                                              load, stop)))  # fmt: skip
        tasks += [
            asyncio.create_task(
                caregiver(client, token, elders, sizes, load, stop, random.Random(rng.random()))
            )
            for token, elders in fixtures.sync_users
        ]
        try:
            while not await asyncio.to_thread(stop_flag.wait, 1.0):
                pass
        finally:
            stop.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    return load


def people_process(base: str, fixtures: Path, sizes: Sizes, stop_flag: Any, out: Any) -> None:
    """The people in a process of their own: the sampler never waits behind their loop. The
    fixtures come in a file: pickled into the start-up pipe they would block the sampler
    until this process has imported everything (minutes on a loaded machine)."""
    raw = json.loads(fixtures.read_text())
    loaded = Fixtures(
        raw["hub_tokens"], raw["console_cookies"], raw["desk_tokens"],
        [(token, [uuid.UUID(e) for e in elders]) for token, elders in raw["sync_users"]],
    )  # fmt: skip
    out.put(asyncio.run(_people(base, loaded, sizes, stop_flag)))


def wait_connected(sampler: Sampler, sizes: Sizes, *, within: float) -> str:
    """Warm-up: until every hub and console is connected (or ``within`` seconds), so the
    samples measure the load, not the people arriving."""
    deadline = time.monotonic() + within
    seen: dict[str, float] = {}
    while time.monotonic() < deadline:
        seen = sampler.metrics()
        if (
            seen.get("hub_sockets", 0) >= sizes.hubs
            and seen.get("console_sockets", 0) >= sizes.consoles
        ):
            break
        time.sleep(1.0)
    return (
        f"{seen.get('hub_sockets', 0):.0f} of {sizes.hubs} hubs, "
        f"{seen.get('console_sockets', 0):.0f} of {sizes.consoles} consoles"
    )


def sample_until(sampler: Sampler, sizes: Sizes, say: Callable[[str], None]) -> list[Sample]:
    samples: list[Sample] = []
    started = time.monotonic()
    end = started + sizes.minutes * 60
    while True:
        values = sampler.sample()
        samples.append(Sample(time.monotonic() - started, values))
        nan = float("nan")
        say(
            f"{samples[-1].t / 60:5.1f} min  RSS {values['rss_mib']:.0f} MiB  "
            f"fds {values['fds']:.0f}  sockets {values['sockets']:.0f}  "
            f"pg {values.get('pg_backends', nan):.0f}  "
            f"readings queue {values.get('readings_queue', nan):.0f}  "
            f"open alerts {values.get('open_alerts', nan):.0f}  "
            f"consoles {values.get('console_sockets', nan):.0f} "
            f"(queued {values.get('console_queue', nan):.0f})  "
            f"hubs {values.get('hub_sockets', nan):.0f}  load {values['load1']:.1f}"
        )
        # On a fixed grid: a slow sample does not shift the ones after it.
        next_at = started + len(samples) * sizes.interval_s
        while next_at < time.monotonic():
            next_at += sizes.interval_s
        if next_at > end:
            return
        time.sleep(next_at - time.monotonic())


def run_soak(
    sizes: Sizes, *, database: str = "postgresql", rss_mib_per_hour: float = 20.0,
    say: Callable[[str], None] = print,
) -> Result:  # fmt: skip
    import multiprocessing

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
    print(f"  plot: {png}")
    print("  RESULT: " + ("FLAT" if result.flat else "GROWING: " + ", ".join(
        v.name for v in result.verdicts if not v.flat)))  # fmt: skip


if __name__ == "__main__":
    main()
