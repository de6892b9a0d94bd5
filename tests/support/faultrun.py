"""The fault run: a fleet of real hub agents and real servers, faults on a seeded schedule, and
a table that says whether anything was lost, doubled or late.

Real parts only:
- ``eldercare-agent simulate`` processes (one hub each by default: simulated meters and a
  panic button, a real SQLite outbox on a small tmpfs of its own so its disk can be filled);
- one or two ``eldercare serve`` processes on PostgreSQL (a private cluster the run creates
  with ``initdb`` so it may restart it; never the machine's shared server), or one on SQLite;
- a console client on ``/api/v1/console/ws`` recording when a dispatcher would see each
  alert and each repeated press;
- every agent reaches the servers through its own ``FaultProxy`` (which also balances over
  the server processes, as a reverse proxy would).

The schedule (seeded) plays, each at least once: SIGKILL and restart an agent; cut every
link and restore it; cut one home's link; stall one direction of a link; latency and jitter;
reset connections mid-frame; SIGKILL and restart a server process; restart PostgreSQL; fill an
agent's disk and free it. Then every link is healed, the agents are stopped and started once
more only to drain (they exit when their outbox is empty), and the run is checked against the
database, the agents' own id logs, the console's record and the servers' access logs.

``bench/faults.py --fleet`` runs it at full size; ``tests/faults/`` at the size CI affords.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa

from tests.support.proxy import FaultProxy

ROOT = Path(__file__).resolve().parents[2]
SECRET = "fault-run-secret-key-0123456789-abcdefghijklmnop"
FAULTS = (
    "agent_kill",
    "cut_all",
    "cut_one",
    "stall_up",
    "stall_down",
    "latency",
    "reset_mid_frame",
    "server_kill",
    "postgres_restart",
    "disk_full",
)
AGENT_FAULTS = frozenset(
    {"agent_kill", "cut_one", "stall_up", "stall_down", "latency", "reset_mid_frame", "disk_full"}
)
# Short escalation steps so that timers come due (and must fire once) within the run; a
# short join window so that some presses open alerts and others join them.
POLICY = {
    "version": "fault-run",
    "target_minutes": 10,
    "join_window_seconds": 4,
    "steps": [
        {"name": "escalate", "after_seconds": 3, "when_status": ["new"],
         "actions": ["realarm", "notify_supervisors"]},
        {"name": "sla_breach", "after_seconds": 8,
         "when_status": ["new", "acknowledged", "dispatched"], "actions": ["sla_breach"]},
    ],
}  # fmt: skip
# The timeline action each step writes when it fires (server/alerts/timers.py).
ESCALATION_ACTIONS = {"escalate": "escalated", "sla_breach": "sla_breach"}
ACCESS_LINE = re.compile(r'"[A-Z]+ (\S+) HTTP/[\d.]+" (\d{3})')


@dataclass
class RunSize:
    agents: int = 20
    hubs_per_agent: int = 1
    servers: int = 2
    database: Literal["postgresql", "sqlite"] = "postgresql"
    rate: float = 3.5  # readings per second per hub
    panic_every_s: float = 12.0  # per hub, on average
    fault_s: float = 40.0  # how long faults are played
    fault_every_s: float = 3.0
    # Faults go on past ``fault_s`` (up to ``max_fault_s``) until the agents have made this
    # many readings and panics: a loaded machine makes them more slowly.
    min_events: int = 0
    min_panics: int = 0
    max_fault_s: float = 0.0
    seed: int = 18
    # Press (or the moment the path was back) → console. Generous: on a 2-core machine shared
    # with other work an agent's own event loop can starve for seconds.
    console_bound_s: float = 15.0
    heartbeat_s: float = 5.0
    disk_mb: int = 24


@dataclass
class Interval:
    """A fault in force from start to end; ``agents`` None means every agent."""

    fault: str
    start: float
    end: float
    agents: frozenset[int] | None


@dataclass
class Report:
    size: RunSize
    rows: list[tuple[str, str]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)
    impossible: dict[str, str] = field(default_factory=dict)
    numbers: dict[str, float] = field(default_factory=dict)

    def table(self) -> str:
        width = max(len(k) for k, _ in self.rows)
        lines = [f"  {k:<{width}}  {v}" for k, v in self.rows]
        lines.append("  faults played: " + ", ".join(f"{k} {v}" for k, v in self.faults.items()))
        for fault, why in self.impossible.items():
            lines.append(f"  NOT PLAYED {fault}: {why}")
        for failure in self.failures:
            lines.append(f"  FAIL {failure}")
        return "\n".join(lines)


# --- PostgreSQL: a private cluster the run may restart ------------------------------------


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return found[-1].parent if found else None


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PrivateCluster:
    """``initdb`` in a temp dir, run as the ``postgres`` user when we are root."""

    def __init__(self, base: Path) -> None:
        binary = _pg_bin()
        if binary is None:
            raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql")
        self.bin = binary
        self.dir = base / "pgdata"
        self.port = _free_port()
        self.base = base

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        # No pipes: a started postmaster would hold them open and the call would never end.
        return subprocess.run(
            command, check=check, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            text=True, timeout=120,
        )  # fmt: skip

    def init(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
        self._run("initdb", "-D", str(self.dir), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        conf = self.dir / "postgresql.conf"
        with conf.open("a") as f:
            f.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.base}'\nfsync = off\n"
                "max_connections = 200\nshared_buffers = 64MB\n"
            )
        self.start()

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir), "-l", str(self.base / "pg.log"), "-w", "start")

    def restart(self) -> None:
        # Immediate: the database process dies as in a crash and recovers from its WAL.
        self._run(
            "pg_ctl", "-D", str(self.dir), "-l", str(self.base / "pg.log"), "-m", "immediate",
            "-w", "restart",
        )  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir), "-m", "immediate", "stop", check=False)

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


# --- fixtures in the database -------------------------------------------------------------


def make_fleet(url: str, hubs: int) -> tuple[list[str], list[str], str]:
    """``hubs`` elders each with a hub: their tokens and device ids; and a dispatcher's
    session cookie."""
    from sqlmodel import Session

    from server.auth.models import Role, User
    from server.auth.service import issue_token
    from server.config import Settings
    from server.db import make_engine
    from server.devices.models import Device, DeviceKind
    from server.devices.service import issue_hub_token
    from server.elders.models import Elder, Sex

    engine = make_engine(url)
    tokens = []
    try:
        with Session(engine, expire_on_commit=False) as session:
            ids = []
            for i in range(hubs):
                elder = Elder(
                    national_id=f"{3100000000000 + i}", first_name=f"fault{i}", last_name="run",
                    birth_date=date(1944, 1, 1), sex=Sex.FEMALE, address="-", community="-",
                )  # fmt: skip
                session.add(elder)
                session.flush()
                hub = Device(elder_id=elder.id, kind=DeviceKind.HUB)
                session.add(hub)
                session.flush()
                ids.append(hub.id)
            user = User(
                username="fault-dispatcher", full_name="-", role=Role.DISPATCHER,
                password_hash="-",
            )  # fmt: skip
            session.add(user)
            session.commit()
            for hub_id in ids:
                tokens.append(issue_hub_token(session, device_id=hub_id, actor=None)[1])
            cookie = issue_token(
                session, user, settings=Settings(secret_key=SECRET, database_url=url),
                purpose="session",
            )  # fmt: skip
            session.commit()
    finally:
        engine.dispose()
    return tokens, [str(i) for i in ids], cookie


# --- processes ------------------------------------------------------------------------------


class ServerProc:
    def __init__(self, index: int, url: str, logs: Path, policy: Path) -> None:
        self.index = index
        self.port = _free_port()
        self.url = url
        self.log = logs / f"server{index}.log"
        self.policy = policy
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "ELDERCARE_DATABASE_URL": self.url,
            "ELDERCARE_SECRET_KEY": SECRET,
            "ELDERCARE_ENV": "test",
            "ELDERCARE_ALERTS_POLICY_FILE": str(self.policy),
            "ELDERCARE_ALERTS_TICK_SECONDS": "0.5",
            "ELDERCARE_DEVICES_RATE_PER_SECOND": "100000",
            "ELDERCARE_DEVICES_BURST": "1000000",
            "ELDERCARE_DEVICES_SUPERVISION_INTERVAL_SECONDS": "3600",
        }
        out = self.log.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1",
            "--port", str(self.port),
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        out.close()

    async def ready(self, within: float = 120.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.returncode is not None:
                raise RuntimeError(f"server {self.index} exited with {self.proc.returncode}")
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"server {self.index} did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.terminate()
        try:
            await asyncio.wait_for(self.proc.wait(), 20)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


class AgentProc:
    def __init__(self, index: int, base: Path, tokens: list[str], size: RunSize) -> None:
        self.index = index
        self.state = base / f"agent{index:03d}"
        self.tokens = tokens
        self.size = size
        self.proxy: FaultProxy | None = None
        self.proc: asyncio.subprocess.Process | None = None
        self.log = base / f"agent{index:03d}.log"
        self.ids = base / f"agent{index:03d}.ids"
        self.mounted = False
        self.disk_full = False
        self.unexpected_exits: list[int] = []
        self.starts = 0
        self.hub_ids: list[str] = []

    def mount(self) -> str | None:
        """A small tmpfs for the outbox so the run can fill it; None, or why not."""
        self.state.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={self.size.disk_mb}m", "tmpfs", str(self.state)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            return (result.stderr or result.stdout).strip() or f"mount exit {result.returncode}"
        self.mounted = True
        return None

    def unmount(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.state)], capture_output=True, check=False)
            self.mounted = False

    async def start(self, *, drain: bool = False) -> None:
        assert self.proxy is not None
        args = [
            sys.executable, "-m", "device_agent.cli", "--log-level", "WARNING", "simulate",
            "--server", self.proxy.url, "--hubs", str(self.size.hubs_per_agent),
            "--state-dir", str(self.state), "--id-log", str(self.ids),
            "--heartbeat-interval", str(self.size.heartbeat_s), "--backoff-cap", "1",
            "--seed", str(self.size.seed * 1000 + self.index * 10 + self.starts),
        ]  # fmt: skip
        for token in self.tokens:
            args += ["--token", token]
        if drain:
            args += ["--rate", "0", "--count", "0", "--exit-when-drained"]
        else:
            args += ["--rate", str(self.size.rate), "--panic-every", str(self.size.panic_every_s)]
        self.starts += 1
        out = self.log.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            *args, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        out.close()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    def kill(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.kill()

    async def stop(self) -> None:
        if not self.alive():
            return
        assert self.proc is not None
        self.proc.terminate()
        try:
            await asyncio.wait_for(self.proc.wait(), 20)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()

    def fill_disk(self) -> None:
        """Write a file until the tmpfs has no space left (ENOSPC)."""
        filler = self.state / "filler"
        chunk = b"\0" * 65536
        with contextlib.suppress(OSError), filler.open("wb") as f:
            while True:
                f.write(chunk)
                f.flush()
        self.disk_full = True

    def free_disk(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.state / "filler").unlink()
        self.disk_full = False

    def outbox_depth(self) -> int:
        total = 0
        for path in self.state.glob("sim*.sqlite3"):
            with contextlib.closing(sqlite3.connect(path)) as conn:
                total += int(conn.execute("SELECT count(*) FROM outbox").fetchone()[0])
        return total

    def dead_letters(self) -> int:
        total = 0
        for path in self.state.glob("sim*.sqlite3"):
            with contextlib.closing(sqlite3.connect(path)) as conn:
                total += int(conn.execute("SELECT count(*) FROM dead_letter").fetchone()[0])
        return total


@dataclass
class Logged:
    """What the agents' own id logs say."""

    intended: dict[str, tuple[str, float, int]]  # id → kind, time asked to store, agent
    stored: dict[str, tuple[str, float, int]]  # id → kind, time stored, agent


def read_id_logs(agents: list[AgentProc]) -> Logged:
    intended: dict[str, tuple[str, float, int]] = {}
    stored: dict[str, tuple[str, float, int]] = {}
    for agent in agents:
        if not agent.ids.exists():
            continue
        for line in agent.ids.read_text().splitlines():
            parts = line.split()
            if len(parts) == 4 and parts[0] == "?":
                intended[parts[1]] = (parts[2], float(parts[3]), agent.index)
            elif len(parts) == 3:
                stored[parts[0]] = (parts[1], float(parts[2]), agent.index)
    return Logged(intended=intended, stored=stored)


# --- the console, as a dispatcher sees it ---------------------------------------------------


class ConsoleWatcher:
    """Keeps one console socket open (to any live server), noting when each alert and each
    press count was first shown."""

    def __init__(self, ports: list[int], cookie: str) -> None:
        self.ports = ports
        self.cookie = cookie
        self.first_seen: dict[tuple[str, int], float] = {}  # (alert id, press count) → time
        self.reconnects = 0
        self.frames = 0

    def _note(self, alerts: list[dict[str, Any]], at: float) -> None:
        for alert in alerts:
            key = (str(alert["id"]), int(alert.get("press_count") or 1))
            self.first_seen.setdefault(key, at)

    async def run(self) -> None:
        from websockets.asyncio.client import connect

        turn = 0
        while True:
            port = self.ports[turn % len(self.ports)]
            turn += 1
            try:
                async with connect(
                    f"ws://127.0.0.1:{port}/api/v1/console/ws",
                    additional_headers={"Cookie": f"eldercare_session={self.cookie}"},
                    open_timeout=5,
                    ping_interval=5,
                    ping_timeout=20,
                    max_size=None,
                ) as ws:
                    async for message in ws:
                        at = time.time()
                        frame = json.loads(message)
                        self.frames += 1
                        if frame.get("type") in ("snapshot", "changes"):
                            self._note(frame.get("alerts", []), at)
            except asyncio.CancelledError:
                raise
            except Exception:  # a killed server, a refused connection: try the next one
                self.reconnects += 1
                await asyncio.sleep(0.2)

    def seen_at(self, alert_id: str, press_count: int) -> float | None:
        """First time the console showed this alert with at least this many presses."""
        times = [t for (a, n), t in self.first_seen.items() if a == alert_id and n >= press_count]
        return min(times) if times else None


# --- the run ------------------------------------------------------------------------------


class FaultRun:
    def __init__(self, size: RunSize, base: Path, *, say: Any = print) -> None:
        self.size = size
        self.base = base
        self.say = say
        self.rng = random.Random(size.seed)
        self.report = Report(size=size)
        self.intervals: list[Interval] = []
        self.servers: list[ServerProc] = []
        self.agents: list[AgentProc] = []
        self.cluster: PrivateCluster | None = None
        self.db_url = ""
        self.t0 = 0.0
        self.storage_alerts: list[tuple[bool, bool]] = []  # per disk fill: raised, cleared
        self.server_start_failures: list[str] = []
        self.full_disks: list[tuple[int, float, float]] = []  # agent, from, to
        self.clear_watchers: list[asyncio.Task[None]] = []
        self.busy_agents: set[int] = set()
        self.busy_servers: set[int] = set()

    # -- set-up ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def database(self) -> Iterator[str]:
        from tests.support.databases import scratch_postgres

        if self.size.database == "sqlite":
            self.report.impossible["postgres_restart"] = "SQLite run"
            url = f"sqlite:///{self.base}/fault-run.db"
            from server.migrate import upgrade

            upgrade(url)
            yield url
            return
        try:
            cluster = PrivateCluster(self.base / "pg")
            cluster.init()
        except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
            # No private cluster: the shared server is used and never restarted.
            self.report.impossible["postgres_restart"] = f"no private cluster: {exc}"
            with scratch_postgres(prefix="fault_run") as url:
                yield url
            return
        self.cluster = cluster
        try:
            # The whole cluster is thrown away afterwards: no scratch database to drop.
            admin = sa.create_engine(cluster.admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.exec_driver_sql('CREATE DATABASE "fault_run"')
            admin.dispose()
            url = cluster.admin_url.rsplit("/", 1)[0] + "/fault_run"
            from server.migrate import upgrade

            upgrade(url)
            yield url
        finally:
            cluster.stop()

    async def run(self) -> Report:
        with self.database() as url:
            self.db_url = url
            try:
                await self._run()
            finally:
                for agent in self.agents:
                    agent.kill()
                    if agent.proc is not None:
                        with contextlib.suppress(Exception):
                            await asyncio.wait_for(agent.proc.wait(), 10)
                    if agent.proxy is not None:
                        await agent.proxy.stop()
                    if agent.mounted:  # the outboxes outlive their tmpfs, for a look
                        with contextlib.suppress(OSError):
                            shutil.copytree(agent.state, self.base / f"{agent.state.name}-disk")
                    agent.unmount()
                for server in self.servers:
                    await server.stop()
        return self.report

    async def _run(self) -> None:
        size = self.size
        hubs = size.agents * size.hubs_per_agent
        self.t0 = time.time()
        tokens, hub_ids, cookie = await asyncio.to_thread(make_fleet, self.db_url, hubs)
        policy = self.base / "policy.json"
        policy.write_text(json.dumps(POLICY))
        self.servers = [ServerProc(i, self.db_url, self.base, policy) for i in range(size.servers)]
        for server in self.servers:
            await server.start()
        for server in self.servers:
            await server.ready()
        ports = [s.port for s in self.servers]
        for i in range(size.agents):
            mine = slice(i * size.hubs_per_agent, (i + 1) * size.hubs_per_agent)
            agent = AgentProc(i, self.base, tokens[mine], size)
            agent.hub_ids = hub_ids[mine]
            why = agent.mount()
            if why is not None:
                self.report.impossible["disk_full"] = f"no tmpfs for the outbox: {why}"
            first = ports[i % len(ports)]
            agent.proxy = FaultProxy(
                "127.0.0.1", first, alternates=[("127.0.0.1", p) for p in ports if p != first]
            )
            await agent.proxy.start()
            self.agents.append(agent)
        for agent in self.agents:
            await agent.start()
        console = ConsoleWatcher(ports, cookie)
        watching = asyncio.create_task(console.run())
        minding = asyncio.create_task(self._mind_agents())
        try:
            started_faults = time.time()
            await self._play_faults()
            await self._heal_all()
            if self.clear_watchers:
                await asyncio.gather(*self.clear_watchers)
            self.report.numbers["start_s"] = started_faults - self.t0
            self.report.numbers["faults_s"] = time.time() - started_faults
            self.say(f"faults done at {time.time() - self.t0:.0f} s; draining")
            minding.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await minding
            drained_at = await self._drain()
            await self._settle_timers()
            await asyncio.sleep(2.0)  # the console's last changes
        finally:
            watching.cancel()
            minding.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching
        self.report.numbers["drain_s"] = drained_at
        await asyncio.to_thread(self._check, console)

    async def _mind_agents(self) -> None:
        """An agent that exits by itself (not by the schedule) is a finding; restart it."""
        while True:
            await asyncio.sleep(0.5)
            for agent in self.agents:
                proc = agent.proc
                if proc is not None and proc.returncode not in (None, -signal.SIGKILL):
                    assert proc.returncode is not None
                    agent.unexpected_exits.append(proc.returncode)
                    self.say(f"agent {agent.index} exited with {proc.returncode}")
                    await agent.start()

    # -- faults ------------------------------------------------------------------------------

    def _mark(self, fault: str, start: float, agents: frozenset[int] | None) -> None:
        self.intervals.append(Interval(fault, start, time.time(), agents))
        self.report.faults[fault] += 1

    async def _play_faults(self) -> None:
        size = self.size
        playable = [f for f in FAULTS if f not in self.report.impossible]
        if len(self.servers) < 1:
            playable.remove("server_kill")
        end = time.monotonic() + size.fault_s
        hard_end = time.monotonic() + max(size.fault_s, size.max_fault_s)
        order: list[str] = []
        running: list[asyncio.Task[None]] = []
        await asyncio.sleep(min(3.0, size.fault_every_s))
        while time.monotonic() < end or (
            time.monotonic() < hard_end and not await asyncio.to_thread(self._made_enough)
        ):
            if not order:
                order = list(playable)
                self.rng.shuffle(order)
            fault = order.pop()
            running.append(asyncio.create_task(self._fault(fault)))
            await asyncio.sleep(self.rng.uniform(0.5, 1.5) * size.fault_every_s)
        if running:
            for outcome in await asyncio.gather(*running, return_exceptions=True):
                if isinstance(outcome, BaseException):
                    self.report.failures.append(f"a fault could not be played: {outcome!r}")
        missing = [f for f in playable if not self.report.faults[f]]
        for fault in missing:  # a short run still plays every fault once
            await self._fault(fault)

    def _made_enough(self) -> bool:
        made = Counter(kind for kind, _, _ in read_id_logs(self.agents).stored.values())
        events = made["vitals"] + made["panic"]
        return events >= self.size.min_events and made["panic"] >= self.size.min_panics

    def _pick_agent(self) -> AgentProc | None:
        """An agent no other fault is playing with (two at once would hide each other)."""
        choices = [a for a in self.agents if a.index not in self.busy_agents]
        if not choices:
            return None
        agent = self.rng.choice(choices)
        self.busy_agents.add(agent.index)
        return agent

    async def _fault(self, fault: str) -> None:
        agent: AgentProc | None = None
        server: ServerProc | None = None
        if fault in AGENT_FAULTS:
            agent = self._pick_agent()
            if agent is None:
                return
        if fault == "server_kill":
            free = [s for s in self.servers if s.index not in self.busy_servers]
            if not free:
                return
            server = self.rng.choice(free)
            self.busy_servers.add(server.index)
        try:
            await self._play(fault, agent, server)
        finally:
            if agent is not None:
                self.busy_agents.discard(agent.index)
            if server is not None:
                self.busy_servers.discard(server.index)

    async def _play(self, fault: str, agent: AgentProc | None, server: ServerProc | None) -> None:
        rng = self.rng
        start = time.time()
        if fault == "agent_kill":
            assert agent is not None
            agent.kill()
            if agent.proc is not None:
                await agent.proc.wait()
            await asyncio.sleep(rng.uniform(0.3, 2.0))
            await agent.start()
            # The restarted agent's uplink is back once it is running again.
            self._mark(fault, start, frozenset({agent.index}))
        elif fault == "cut_all":
            for each in self.agents:
                assert each.proxy is not None
                each.proxy.cut()
            await asyncio.sleep(rng.uniform(2.0, 5.0))
            for each in self.agents:
                assert each.proxy is not None
                each.proxy.heal()
            self._mark(fault, start, None)
        elif fault in ("cut_one", "stall_up", "stall_down", "latency", "reset_mid_frame"):
            assert agent is not None
            proxy = agent.proxy
            assert proxy is not None
            if fault == "cut_one":
                proxy.cut()
                await asyncio.sleep(rng.uniform(2.0, 6.0))
            elif fault == "stall_up":
                proxy.stall(up=True)
                await asyncio.sleep(rng.uniform(2.0, 6.0))
            elif fault == "stall_down":
                proxy.stall(up=False)
                await asyncio.sleep(rng.uniform(2.0, 6.0))
            elif fault == "latency":
                proxy.latency, proxy.jitter = rng.uniform(0.1, 0.4), rng.uniform(0.05, 0.3)
                await asyncio.sleep(rng.uniform(4.0, 8.0))
            else:
                proxy.reset_mid_frame()
                await asyncio.sleep(0.5)
            proxy.heal()
            self._mark(fault, start, frozenset({agent.index}))
        elif fault == "server_kill":
            assert server is not None
            server.kill()
            assert server.proc is not None
            await server.proc.wait()
            await asyncio.sleep(rng.uniform(0.5, 2.0))
            await self._restart_server(server)
            # With a second process behind the balancer only the killed one's connections
            # were lost; with one, every home waited for the restart.
            self._mark(fault, start, None)
        elif fault == "postgres_restart":
            assert self.cluster is not None
            await asyncio.to_thread(self.cluster.restart)
            self._mark(fault, start, None)
        elif fault == "disk_full":
            # The hub must say so in its heartbeat (the server opens a device alert) and
            # keep sending; once freed, the alert clears.
            assert agent is not None
            await asyncio.to_thread(agent.fill_disk)
            # The disk stays full until the server has heard (a link or server fault may be
            # holding the heartbeat back), or a minute has passed.
            within = self.size.heartbeat_s * 3 + 60
            raised = await self._wait_storage_alert(agent, open_=True, within=within)
            if agent.alive():  # a press on the full disk: it must reach the console all the same
                assert agent.proc is not None
                agent.proc.send_signal(signal.SIGUSR2)
            await asyncio.sleep(rng.uniform(2.0, 5.0))
            agent.free_disk()
            self.full_disks.append((agent.index, start, time.time()))
            # The clearing heartbeat may wait behind other faults: watched on the side, and
            # awaited before the agents are drained.
            self.clear_watchers.append(
                asyncio.create_task(self._storage_cleared(agent, raised=raised))
            )
            # Not a path fault: a hub with a full disk must still get its panics out.
            self._mark(fault, start, frozenset())
        else:  # pragma: no cover
            raise ValueError(fault)

    async def _restart_server(self, server: ServerProc) -> None:
        """As a service manager would (Restart=always): start it until it stays up. A start
        that fails is a finding, and counted."""
        for _ in range(5):
            await server.start()
            try:
                await server.ready()
                return
            except RuntimeError as exc:
                server.kill()  # a slow start still under way must not race the next one
                if server.proc is not None:
                    await server.proc.wait()
                self.server_start_failures.append(str(exc))
                self.say(f"server {server.index} failed to start: {exc}")
                await asyncio.sleep(1.0)
        raise RuntimeError(f"server {server.index} would not start again")

    async def _storage_cleared(self, agent: AgentProc, *, raised: bool) -> None:
        cleared = raised and await self._wait_storage_alert(
            agent, open_=False, within=self.size.heartbeat_s * 3 + 60
        )
        self.storage_alerts.append((raised, cleared))

    async def _wait_storage_alert(self, agent: AgentProc, *, open_: bool, within: float) -> bool:
        """Wait until the hub's disk alert is open (or closed again)."""
        engine = sa.create_engine(self.db_url)
        query = sa.text(
            "SELECT count(*) FROM alerts WHERE kind = 'device_problem' AND device_id = :hub "
            "AND status IN ('new', 'acknowledged', 'dispatched', 'on_scene')"
        )
        hub = uuid.UUID(agent.hub_ids[0])
        if self.size.database == "sqlite":
            hub_value: Any = hub.hex
        else:
            hub_value = hub
        try:
            deadline = time.monotonic() + within
            while time.monotonic() < deadline:
                with contextlib.suppress(sa.exc.OperationalError):  # PostgreSQL restarting
                    with engine.connect() as conn:
                        count = conn.execute(query, {"hub": hub_value}).scalar_one()
                    if bool(count) == open_:
                        return True
                await asyncio.sleep(0.5)
            return False
        finally:
            engine.dispose()

    async def _heal_all(self) -> None:
        for agent in self.agents:
            assert agent.proxy is not None
            agent.proxy.heal()
            agent.free_disk()

    # -- the end ---------------------------------------------------------------------------

    async def _drain(self, within: float = 120.0) -> float:
        """Stop the producers, then run each agent once more until its outbox is empty."""
        started = time.monotonic()
        for agent in self.agents:
            if agent.alive():
                assert agent.proc is not None
                agent.proc.send_signal(signal.SIGUSR1)  # stop making events, exit when empty
            else:
                await agent.start(drain=True)
        deadline = time.monotonic() + within
        for agent in self.agents:
            assert agent.proc is not None
            try:
                code = await asyncio.wait_for(
                    agent.proc.wait(), max(1.0, deadline - time.monotonic())
                )
            except TimeoutError:
                self.report.failures.append(f"agent {agent.index} did not drain in {within:.0f} s")
                agent.kill()
                continue
            if code != 0:
                self.report.failures.append(f"agent {agent.index} drain exited with {code}")
        return time.monotonic() - started

    async def _settle_timers(self, within: float = 30.0) -> None:
        """Wait until no timer is pending: every step is due within seconds of the last press,
        so by then each has fired or been skipped, or it never will."""
        engine = sa.create_engine(self.db_url)
        try:
            deadline = time.monotonic() + within
            while time.monotonic() < deadline:
                with engine.connect() as conn:
                    pending = conn.execute(
                        sa.text("SELECT count(*) FROM alert_timers WHERE status = 'pending'")
                    ).scalar_one()
                if not pending:
                    return
                await asyncio.sleep(0.5)
        finally:
            engine.dispose()

    def _check(self, console: ConsoleWatcher) -> None:
        report = self.report
        rows = report.rows
        failures = report.failures
        logged = read_id_logs(self.agents)
        engine = sa.create_engine(self.db_url)
        try:
            with engine.connect() as conn:
                stored_rows = conn.execute(sa.text("SELECT id, kind FROM agent_events")).all()
                hubs_heard = conn.execute(
                    sa.text("SELECT count(*) FROM hub_status WHERE last_heartbeat_at IS NOT NULL")
                ).scalar_one()
                press_rows = conn.execute(
                    sa.text(
                        "SELECT source_event_id, alert_id, action, params FROM alert_events "
                        "WHERE source_event_id IS NOT NULL"
                    )
                ).all()
                created = conn.execute(
                    sa.text(
                        "SELECT alert_id, count(*) FROM alert_events WHERE action = 'created' "
                        "GROUP BY alert_id"
                    )
                ).all()
                alerts = conn.execute(
                    sa.text("SELECT id, kind, priority, press_count FROM alerts")
                ).all()
                timers = conn.execute(
                    sa.text("SELECT alert_id, step, status, due_at FROM alert_timers")
                ).all()
                timeline = conn.execute(
                    sa.text(
                        "SELECT alert_id, action, count(*) FROM alert_events "
                        "WHERE action IN ('escalated', 'sla_breach') GROUP BY alert_id, action"
                    )
                ).all()
        finally:
            engine.dispose()

        def norm(value: Any) -> str:
            return str(uuid.UUID(str(value)))

        stored_ids = [norm(r[0]) for r in stored_rows]
        stored = set(stored_ids)
        # Heartbeats are not stored as events: each updates its hub's latest state. They are
        # counted by the hubs heard from, and by the outboxes being empty at the end.
        heartbeats = {
            i for i, v in (logged.intended | logged.stored).items() if v[0] == "heartbeat"
        }
        committed = set(logged.stored) - heartbeats
        intended = set(logged.intended) - heartbeats
        in_flight = intended - committed  # asked to store when a SIGKILL landed
        # By kind, of the events counted above: heartbeats apart (they are not events).
        kinds = Counter(logged.stored[i][0] for i in committed)
        lost = committed - stored
        foreign = stored - intended
        rows.append(("agents / hubs / server processes",
                     f"{len(self.agents)} / {len(self.agents) * self.size.hubs_per_agent} / "
                     f"{len(self.servers)} on {self.size.database}"))  # fmt: skip
        rows.append(
            ("events stored by agents (their id logs)", f"{len(committed)}  ({dict(kinds)})")
        )
        rows.append(("  of which readings", str(kinds.get("vitals", 0))))
        rows.append(("heartbeats acked to agents (each the hub's latest state, not an event)",
                     str(len(heartbeats & set(logged.stored)))))  # fmt: skip
        hubs = len(self.agents) * self.size.hubs_per_agent
        rows.append(("hubs whose heartbeat reached the server", f"{hubs_heard} of {hubs}"))
        if hubs_heard < hubs:
            failures.append(f"{hubs - hubs_heard} hubs' heartbeats never reached the server")
        rows.append(("events in flight at a SIGKILL", f"{len(in_flight)} "
                     f"(stored by the server: {len(in_flight & stored)})"))  # fmt: skip
        rows.append(("events stored by the server", str(len(stored_ids))))
        rows.append(("  stored twice (same id)", str(len(stored_ids) - len(stored))))
        rows.append(("  sent and not stored (LOST)", str(len(lost))))
        rows.append(("  stored but never made by an agent", str(len(foreign))))
        if lost:
            failures.append(f"{len(lost)} events the agents stored never reached the server")
        if foreign:
            failures.append(f"{len(foreign)} stored events no agent made")
        if len(stored_ids) != len(stored):
            failures.append("an event id was stored twice")

        # Panics → alerts.
        panics = {i: v for i, v in logged.stored.items() if v[0] == "panic"}
        panics_all = {i: v for i, v in logged.intended.items() if v[0] == "panic" and i in stored}
        panics_all.update(panics)
        by_event: dict[str, list[tuple[str, str, Any]]] = defaultdict(list)
        for source, alert_id, action, params in press_rows:
            by_event[norm(source)].append((norm(alert_id), action, params))
        unalerted = [p for p in panics_all if not by_event.get(p)]
        doubled = [p for p in panics_all if len(by_event.get(p, [])) > 1]
        opened = sum(1 for p in panics_all if by_event.get(p) and by_event[p][0][1] == "created")
        joined = sum(
            1 for p in panics_all if by_event.get(p) and by_event[p][0][1] == "pressed_again"
        )
        opened_twice = [a for a, n in created if n > 1]
        rows.append(("panics pressed (stored by agents)", str(len(panics))))
        rows.append(("panic alerts opened / joined", f"{opened} / {joined}"))
        rows.append(("  panics with no alert (LOST)", str(len(unalerted))))
        rows.append(("  panics counted twice", str(len(doubled))))
        rows.append(("  alerts opened twice", str(len(opened_twice))))
        if unalerted:
            failures.append(f"{len(unalerted)} panics became no alert")
        if doubled or opened_twice:
            failures.append("a press was counted twice or an alert opened twice")
        panic_alerts = {norm(a[0]) for a in alerts if a[1] == "panic"}

        # Timers: each due timer fired (or skipped) once, and fired ones wrote one timeline row.
        fired: Counter[tuple[str, str]] = Counter()
        pending_due: list[str] = []
        for alert_id, step, status, due in timers:
            if status == "fired":
                fired[(norm(alert_id), ESCALATION_ACTIONS.get(step, step))] += 1
            elif status == "pending":
                pending_due.append(f"{step} due {due}")
        still_pending = len(pending_due)
        lines = {(norm(a), action): n for a, action, n in timeline}
        mismatched = [k for k in set(fired) | set(lines) if fired.get(k, 0) != lines.get(k, 0)]
        twice = [k for k, n in lines.items() if n > 1]
        rows.append(("escalation timers fired", f"{sum(fired.values())} of {len(timers)} "
                     f"(pending at the end: {still_pending})"))  # fmt: skip
        rows.append(("  fired twice / fired without effect", f"{len(twice)} / {len(mismatched)}"))
        if twice or mismatched:
            failures.append(f"timers: {len(twice)} fired twice, {len(mismatched)} mismatched")
        if still_pending:
            # When they were due says whether they came due late in the drain or were missed
            # (the servers' logs say "timers: run failed" for a look that failed).
            failures.append(
                f"{still_pending} timers still pending at the end: {', '.join(pending_due[:5])}"
            )

        # Press → console, measured from when the home's path was back.
        latencies: list[float] = []
        late: list[tuple[str, float]] = []
        never: list[str] = []
        for event_id, (_kind, pressed, agent_index) in panics.items():
            entries = by_event.get(event_id)
            if not entries:
                continue
            alert_id, action, params = entries[0]
            if alert_id not in panic_alerts:
                continue
            count = 1 if action == "created" else int(_params(params).get("count", 1))
            shown = console.seen_at(alert_id, count)
            if shown is None:
                never.append(event_id)
                continue
            back = self._path_back(agent_index, pressed, shown)
            latency = shown - back
            latencies.append(latency)
            if latency > self.size.console_bound_s:
                late.append((event_id, latency))
        latencies.sort()
        if latencies:
            rows.append((
                "press → console, s (path up)",
                f"p50 {_pct(latencies, 50):.2f}  p99 {_pct(latencies, 99):.2f}  "
                f"max {latencies[-1]:.2f}  bound {self.size.console_bound_s:.0f}",
            ))  # fmt: skip
        rows.append(("  panics never on the console / late", f"{len(never)} / {len(late)}"))
        rows.append(("console reconnects / frames", f"{console.reconnects} / {console.frames}"))
        if never:
            failures.append(f"{len(never)} panics never reached the console")
        if late:
            failures.append(f"{len(late)} panics reached the console late: {late[:3]}")

        # Servers: no 5xx in any access log line.
        statuses: Counter[str] = Counter()
        bad: list[str] = []
        unavailable = 0  # 503 "database unavailable, retry": the honest answer mid-restart
        for server in self.servers:
            for line in server.log.read_text(errors="replace").splitlines():
                m = ACCESS_LINE.search(line)
                if m:
                    statuses[m.group(2)[0] + "xx"] += 1
                    if m.group(2) == "503":
                        unavailable += 1
                    elif m.group(2).startswith("5"):
                        bad.append(line.strip())
        tracebacks = sum(s.log.read_text(errors="replace").count("Traceback") for s in self.servers)
        rows.append(
            ("HTTP answers by class", ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
        )
        rows.append(("  5xx other than 503 / tracebacks in logs", f"{len(bad)} / {tracebacks}"))
        rows.append(("  503 (database restarting: retry)", str(unavailable)))
        rows.append(("server restarts that failed", str(len(self.server_start_failures))))
        if self.server_start_failures:
            failures.append(f"server restarts failed: {self.server_start_failures[:3]}")
        if bad:
            failures.append(f"{len(bad)} answers 5xx, e.g. {bad[:3]}")

        on_full = [
            p
            for p, (_, pressed, agent_index) in panics.items()
            if any(a == agent_index and t0 <= pressed <= t1 for a, t0, t1 in self.full_disks)
        ]
        rows.append((
            "panics pressed on a full disk / alerted",
            f"{len(on_full)} / {sum(1 for p in on_full if by_event.get(p))}",
        ))  # fmt: skip
        raised = sum(1 for r, _ in self.storage_alerts if r)
        cleared = sum(1 for _, c in self.storage_alerts if c)
        rows.append(("disks filled / device alert raised / cleared",
                     f"{len(self.storage_alerts)} / {raised} / {cleared}"))  # fmt: skip
        if raised < len(self.storage_alerts) or cleared < len(self.storage_alerts):
            failures.append("a hub with a full disk did not raise (or clear) its device alert")

        # Agents: outboxes empty, nothing dead-lettered, no exit the schedule did not cause.
        depth = sum(a.outbox_depth() for a in self.agents)
        dead = sum(a.dead_letters() for a in self.agents)
        exits = [(a.index, a.unexpected_exits) for a in self.agents if a.unexpected_exits]
        rows.append(("agent outboxes at the end / dead letters", f"{depth} / {dead}"))
        rows.append(("agents that exited by themselves", str(exits or 0)))
        rows.append((
            "phases, s: start / faults / drain",
            f"{report.numbers.get('start_s', 0):.0f} / {report.numbers.get('faults_s', 0):.0f}"
            f" / {report.numbers.get('drain_s', 0):.0f}",
        ))  # fmt: skip
        if depth:
            failures.append(f"{depth} events still in agent outboxes")
        if dead:
            failures.append(f"{dead} events dead-lettered")
        if exits:
            failures.append(f"agents exited by themselves: {exits}")
        report.numbers.update(
            events=len(committed), panics=len(panics), stored=len(stored_ids), lost=len(lost)
        )

    def _path_back(self, agent: int, pressed: float, shown: float) -> float:
        """When this home's path to the console was last restored before ``shown``: the press
        itself, or the end of a fault that held it up."""
        back = pressed
        for interval in self.intervals:
            if interval.agents is not None and agent not in interval.agents:
                continue
            if interval.start <= shown and interval.end >= pressed:
                back = max(back, min(interval.end, shown))
        return back


def _params(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        loaded: dict[str, Any] = json.loads(value)
        return loaded
    return dict(value or {})


def _pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))]


def run_fault_run(size: RunSize, *, say: Any = print) -> Report:
    """Run it in a temp dir, removed afterwards unless the run failed (then its logs, id
    logs and outboxes stay for a look, and the table says where)."""
    base = Path(tempfile.mkdtemp(prefix="fault-run-"))
    os.chmod(base, 0o755)
    report = asyncio.run(FaultRun(size, base, say=say).run())
    if report.failures or os.environ.get("ELDERCARE_FAULT_RUN_KEEP"):
        report.rows.append(("kept for a look", str(base)))
    else:
        shutil.rmtree(base, ignore_errors=True)
    return report
