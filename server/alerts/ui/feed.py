"""What the consoles of one process are shown, read once for all of them.

Each burst of "alert X changed" notices is read from the database once per locale in use and
rendered once; every console of the process gets the same frame. The audit log still names
every person shown each elder, in one statement for all of them, written just after the
frame is sent. Before this a console re-read every change itself: 300 consoles made 300 reads
of one new alert, and under a province's load that fan-out took the event loop from the hubs.

A console that falls behind (its frames pile up) or may have missed changes gets a fresh
snapshot instead of the backlog. A frame read before a console's snapshot began is not sent
to it: the snapshot clears what was queued, and the older frame would undo a newer state.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import uuid
from collections import deque
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from server.alerts import queries
from server.alerts.schemas import AlertOut
from server.audit import service as audit
from server.auth.models import User
from server.common.time import utcnow
from server.i18n import Locale
from server.realtime import RESYNC, Subscription, hub_for, hub_key

log = logging.getLogger(__name__)

AUDITED_FIELDS = ("name", "age", "community", "alert_reasons")
# Frames a console may hold unsent before it is given one snapshot in their place.
MAX_FRAMES = 20


@dataclass(eq=False)
class Console:
    """One open console socket: who is looking, in which language, and what waits for it."""

    user: User
    locale: Locale
    # Elders with an open alert this connection has shown: audited once while on its screen.
    # An elder leaves it when their last open alert closes, so the set stays the size of the
    # queue however long a console stays open (and a new emergency is a new showing).
    seen: set[uuid.UUID] = field(default_factory=set)
    frames: deque[str] = field(default_factory=deque)
    resync: bool = True  # the first frame is a snapshot
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def push(self, frame: str) -> None:
        if len(self.frames) >= MAX_FRAMES:
            self.request_snapshot()
            return
        self.frames.append(frame)
        self.wake.set()

    def request_snapshot(self) -> None:
        self.frames.clear()
        self.resync = True
        self.wake.set()

    async def wait(self, *, seconds: float) -> bool:
        """Until there is something to send (True) or `seconds` pass (False)."""
        if self.resync or self.frames:
            return True
        self.wake.clear()
        try:
            await asyncio.wait_for(self.wake.wait(), seconds)
        except TimeoutError:
            return False
        return True


def snapshot(
    engine: Engine, *, locale: Locale, user: User
) -> tuple[str, dict[uuid.UUID, uuid.UUID]]:
    """The whole queue in console order, and the elder of each alert in it (every elder is
    audited: a snapshot is a fresh showing of everything in it)."""
    with Session(engine, expire_on_commit=False) as session:
        alerts = queries.open_queue(session, locale=locale)
        shown = {a.elder_id for a in alerts}
        audit.record_reads(
            session, actor=user, entity="console", elder_ids=sorted(shown),
            fields=AUDITED_FIELDS, request_id=None,
        )  # fmt: skip
        session.commit()  # no request here: this socket's unit of work is one showing
    payload: dict[str, Any] = {
        "type": "snapshot",
        "now": utcnow().isoformat(),
        "alerts": [a.model_dump(mode="json") for a in alerts],
    }
    return json.dumps(payload, ensure_ascii=False), {a.id: a.elder_id for a in alerts}


def _read_changed(
    engine: Engine, *, ids: Collection[uuid.UUID], locales: Iterable[Locale]
) -> dict[Locale, list[AlertOut]]:
    with Session(engine, expire_on_commit=False) as session:
        return {locale: queries.open_alerts(session, ids=ids, locale=locale) for locale in locales}


def _record_shown(engine: Engine, reads: list[tuple[User, list[uuid.UUID]]]) -> None:
    with Session(engine) as session:
        audit.record_reads_by(
            session, reads=reads, entity="console", fields=AUDITED_FIELDS, request_id=None
        )
        session.commit()


def changes_frame(ids: Collection[uuid.UUID], alerts: list[AlertOut]) -> str:
    """The changed alerts still open, and the ids of those that left the queue."""
    still_open = {a.id for a in alerts}
    payload: dict[str, Any] = {
        "type": "changes",
        "now": utcnow().isoformat(),
        "alerts": [a.model_dump(mode="json") for a in alerts],
        "closed": sorted(str(i) for i in set(ids) - still_open),
    }
    return json.dumps(payload, ensure_ascii=False)


def _alert_ids(notices: set[str]) -> set[uuid.UUID] | None:
    """The alerts a burst of notices names, or None when the whole queue must be re-read."""
    if RESYNC in notices:
        return None  # changes may have been missed while the listener was away
    try:
        return {uuid.UUID(notice) for notice in notices}
    except ValueError:
        log.warning("console: unreadable change notice; re-reading the whole queue")
        return None


class ConsoleFeed:
    """The consoles of one event loop and the one task that reads changes for them all."""

    def __init__(self, engine: Engine, key: tuple[str, asyncio.AbstractEventLoop]) -> None:
        self.engine = engine
        self._key = key
        self.consoles: set[Console] = set()
        # The elder of each open alert the consoles were shown: when the last open alert of an
        # elder closes, the elder leaves every console's `seen`.
        self._elder_of: dict[uuid.UUID, uuid.UUID] = {}
        self._sub: Subscription | None = None
        self._task: asyncio.Task[None] | None = None

    def snapshot_shown(self, console: Console, elder_of: dict[uuid.UUID, uuid.UUID]) -> None:
        """A console's snapshot showed these alerts (and audited all their elders)."""
        self._elder_of.update(elder_of)
        console.seen = set(elder_of.values())

    def _forget_closed(self, closed: set[uuid.UUID]) -> None:
        elders = {e for a in closed if (e := self._elder_of.pop(a, None)) is not None}
        gone = elders - set(self._elder_of.values())
        if gone:
            for console in self.consoles:
                console.seen -= gone

    def join(self, console: Console) -> None:
        self.consoles.add(console)
        if self._task is None:
            self._sub = hub_for(hub_key(self.engine)).subscribe()
            self._task = asyncio.create_task(self._run(self._sub))

    async def leave(self, console: Console) -> None:
        self.consoles.discard(console)
        if self.consoles or self._task is None:
            return
        with _feeds_lock:  # the next console on this loop starts a new feed
            if _feeds.get(self._key) is self:
                del _feeds[self._key]
        task, self._task = self._task, None
        if self._sub is not None:
            hub_for(hub_key(self.engine)).unsubscribe(self._sub)
            self._sub = None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    @property
    def frames_waiting(self) -> int:
        # Read from the metrics thread: a tuple of the set is taken in one step.
        return sum(len(c.frames) for c in tuple(self.consoles))

    async def _run(self, sub: Subscription) -> None:
        while True:
            ids = _alert_ids(await sub.wait())
            consoles = list(self.consoles)
            if ids is None:
                self._elder_of.clear()  # the snapshots that follow fill it again
                for console in consoles:
                    console.request_snapshot()
                continue
            try:
                await self._send_changes(ids, consoles)
            except Exception as exc:
                # Each console takes its own snapshot instead; with the database down that
                # fails too and closes it with "try again later", and the page reconnects.
                if not isinstance(exc, OperationalError):
                    log.exception("console feed: a change could not be read; consoles re-read")
                for console in consoles:
                    console.request_snapshot()

    async def _send_changes(self, ids: set[uuid.UUID], consoles: list[Console]) -> None:
        locales = {c.locale for c in consoles}
        read = await run_in_threadpool(_read_changed, self.engine, ids=ids, locales=locales)
        # From here to the push nothing awaits: a console whose snapshot began before this
        # read ended sends the frame after its snapshot (it may be newer); one whose snapshot
        # begins later finds the frame already queued and clears it (the snapshot is newer).
        takers = [c for c in consoles if c in self.consoles]
        still_open = next(iter(read.values()), [])
        self._elder_of.update((a.id, a.elder_id) for a in still_open)
        self._forget_closed(ids - {a.id for a in still_open})
        reads: list[tuple[User, list[uuid.UUID]]] = []
        for console in takers:
            fresh = {a.elder_id for a in read[console.locale]} - console.seen
            if fresh:
                console.seen.update(fresh)
                reads.append((console.user, sorted(fresh)))
        frames = {locale: changes_frame(ids, alerts) for locale, alerts in read.items()}
        for console in takers:
            console.push(frames[console.locale])
        # The frame goes out first: a press does not wait for this write (about 6 ms of its
        # 35 under readings load). Should it fail, every console is given a snapshot
        # (`_run`), and a snapshot audits every elder it shows.
        if reads:
            await run_in_threadpool(_record_shown, self.engine, reads)


_feeds: dict[tuple[str, asyncio.AbstractEventLoop], ConsoleFeed] = {}
_feeds_lock = threading.Lock()


def feed_for(engine: Engine) -> ConsoleFeed:
    """This event loop's feed for `engine` (a server process has one loop)."""
    key = (hub_key(engine), asyncio.get_running_loop())
    with _feeds_lock:
        feed = _feeds.get(key)
        if feed is None:
            feed = _feeds[key] = ConsoleFeed(engine, key)
        return feed


def console_counts(engine: Engine) -> tuple[int, int]:
    """This process's open console sockets and the frames waiting for them."""
    key = hub_key(engine)
    with _feeds_lock:
        feeds = [feed for (k, _), feed in _feeds.items() if k == key]
    return sum(len(tuple(f.consoles)) for f in feeds), sum(f.frames_waiting for f in feeds)
