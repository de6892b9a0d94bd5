"""The soak's load: the demo's municipality times ``Sizes.scale`` (seeded into the database),
its hubs (the demo's own simulator in ``eldercare-agent`` processes) and its people (console
sockets, a desk that works the queue, caregivers and volunteers syncing), the people in a
process of their own. ``bench/soak.py`` runs it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from websockets.asyncio.client import connect

from bench._common import make_elders
from bench._server import ROOT
from bench.sync import week_of_records
from tests.support.faultrun import SECRET, make_fleet

# The demo, per unit of scale (server/seed.py, server/devices/demo.py).
DEMO_HUBS = 3
DEMO_ELDERS = 36
DEMO_CONSOLES = 3  # dispatcher, dispatcher2, supervisor
DEMO_SYNC_USERS = 6  # caregiver 1-3, volunteer 1-3
RECORDS_PER_VISIT = 4


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
    from sqlmodel import Session, col

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
            elder_ids = list(
                session.execute(sa.select(col(Elder.id)).order_by(col(Elder.id))).scalars()
            )
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
                    sa.update(Elder).where(Elder.id == elder_id)
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
