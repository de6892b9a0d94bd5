"""An in-process hub: thread-safe publish, asyncio subscribers."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

CHANNEL = "eldercare_alerts"
# Published when changes may have been missed (listener reconnected): re-read everything.
RESYNC = "*"
_PENDING = "realtime_changed"


# A burst this large is cheaper to answer with one re-read of the whole queue.
MAX_PENDING = 1_000


@dataclass(eq=False)
class Subscription:
    """The notices not yet taken, as a set: a burst of changes to one alert is one entry, and
    a subscriber that falls behind holds at most `MAX_PENDING` of them, never a queue."""

    loop: asyncio.AbstractEventLoop
    pending: set[str] = field(default_factory=set)
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait(self) -> set[str]:
        """Every notice since the last call, once there is at least one."""
        while not self.pending:
            self.wake.clear()
            await self.wake.wait()
        taken, self.pending = self.pending, set()
        return taken

    def _put(self, items: list[str]) -> None:  # on `loop`
        if RESYNC not in self.pending:
            self.pending.update(items)
            if len(self.pending) > MAX_PENDING or RESYNC in self.pending:
                self.pending = {RESYNC}
        self.wake.set()


def _deliver(subs: list[Subscription], items: list[str]) -> None:
    for sub in subs:
        sub._put(items)


class Hub:
    def __init__(self) -> None:
        self._subs: set[Subscription] = set()
        self._lock = threading.Lock()

    def subscribe(self) -> Subscription:
        sub = Subscription(loop=asyncio.get_running_loop())
        with self._lock:
            self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subs.discard(sub)

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subs)

    @property
    def queued(self) -> int:
        """Notices published and not yet taken by their subscribers."""
        with self._lock:
            return sum(len(sub.pending) for sub in self._subs)

    def publish(self, ids: Iterable[str]) -> None:
        """Safe from any thread: one call onto each subscribing event loop per publish, however
        many subscribers it has."""
        items = list(ids)
        by_loop: dict[asyncio.AbstractEventLoop, list[Subscription]] = {}
        with self._lock:
            for sub in self._subs:
                by_loop.setdefault(sub.loop, []).append(sub)
        for loop, subs in by_loop.items():
            try:
                loop.call_soon_threadsafe(_deliver, subs, items)
            except RuntimeError:  # that loop has closed; its owner will unsubscribe
                continue


_hubs: dict[str, Hub] = {}
_hubs_lock = threading.Lock()


def hub_key(bind: Engine | Connection) -> str:
    engine = bind.engine if isinstance(bind, Connection) else bind
    return engine.url.render_as_string(hide_password=True)


def hub_for(key: str) -> Hub:
    with _hubs_lock:
        hub = _hubs.get(key)
        if hub is None:
            hub = _hubs[key] = Hub()
        return hub


def mark_changed(session: Session, alert_id: uuid.UUID) -> None:
    """Consoles hear about this alert once the caller's transaction commits."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        # Transactional: delivered to every listener at commit, dropped on rollback.
        session.execute(
            text("SELECT pg_notify(:channel, :id)"), {"channel": CHANNEL, "id": str(alert_id)}
        )
        return
    pending: set[str] = session.info.setdefault(_PENDING, set())
    pending.add(str(alert_id))
    session.info["realtime_key"] = hub_key(bind)


def mark_many_changed(session: Session, alert_ids: Iterable[uuid.UUID]) -> None:
    """`mark_changed` for a batch: on PostgreSQL one statement for all of them."""
    ids = sorted({str(i) for i in alert_ids})
    if not ids:
        return
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_notify(:channel, id) FROM unnest(CAST(:ids AS text[])) AS id"),
            {"channel": CHANNEL, "ids": ids},
        )
        return
    pending: set[str] = session.info.setdefault(_PENDING, set())
    pending.update(ids)
    session.info["realtime_key"] = hub_key(bind)


@event.listens_for(Session, "after_commit")
def _publish_after_commit(session: Session) -> None:
    pending: set[str] | None = session.info.pop(_PENDING, None)
    key = session.info.pop("realtime_key", None)
    if pending and key:
        hub_for(key).publish(pending)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop("realtime_key", None)
