"""The durable outbox: every event is committed to SQLite before anything else happens to it.

Threading: one SQLite connection, used only by one dedicated worker thread. Every call from
the event loop is handed to that thread, so the loop never waits on a disk flush. Emits that
arrive while a commit is under way are written together in the next transaction (group
commit): each ``emit`` still returns only after its own row is on disk
(``journal_mode=WAL``, ``synchronous=FULL``), but many producers share one fsync.

Order: panic and fall events first, then oldest first (``seq`` is an AUTOINCREMENT rowid, so
creation order survives deletes and restarts). An event the server rejects goes to the
``dead_letter`` table: kept for a person to look at, never sent again.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from eldercare_protocol import Event, EventKind

log = logging.getLogger(__name__)

T = TypeVar("T")

PRIORITY_URGENT = 0
PRIORITY_NORMAL = 1
URGENT_KINDS = frozenset({EventKind.PANIC, EventKind.FALL})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    priority INTEGER NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_order ON outbox (priority, seq);
CREATE TABLE IF NOT EXISTS dead_letter (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL,
    dead_at TEXT NOT NULL
);
"""

# Insert unless the id is already queued or already dead-lettered.
_INSERT = """
INSERT OR IGNORE INTO outbox (id, priority, kind, body, created_at)
SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM dead_letter WHERE id = ?)
"""


def priority_of(kind: str) -> int:
    return PRIORITY_URGENT if kind in URGENT_KINDS else PRIORITY_NORMAL


@dataclass(frozen=True, slots=True)
class StoredEvent:
    seq: int
    id: str
    kind: str
    priority: int
    body: str  # the event's JSON exactly as it goes on the wire


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: str
    kind: str
    body: str
    reason: str
    dead_at: str


@dataclass(frozen=True, slots=True)
class _Row:
    id: str
    priority: int
    kind: str
    body: str
    created_at: str


@dataclass(frozen=True, slots=True)
class _Pending:
    rows: list[_Row]
    done: asyncio.Future[None]
    loop: asyncio.AbstractEventLoop


EmitListener = Callable[[str, int], None]
"""Called on the event loop after an event is committed, with its kind and priority."""


def _row(event: Event) -> _Row:
    return _Row(
        id=str(event.id),
        priority=priority_of(event.kind),
        kind=str(event.kind),
        body=event.model_dump_json(),
        created_at=datetime.now(UTC).isoformat(),
    )


class Outbox:
    """Durable FIFO-with-priority queue of events. Implements ``EventSink``."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(_SCHEMA)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox")
        self._lock = threading.Lock()
        self._pending: list[_Pending] = []
        self._flush_scheduled = False
        self._listeners: list[EmitListener] = []
        self._closed = False

    # -- producers -------------------------------------------------------------------------

    async def emit(self, event: Event) -> None:
        """Return once the event is durably stored. Re-emitting a stored id does nothing."""
        await self._enqueue([_row(event)])

    async def emit_many(self, events: Iterable[Event]) -> None:
        """Store several events in one transaction (bulk loads, benchmarks)."""
        await self._enqueue([_row(event) for event in events])

    def add_listener(self, listener: EmitListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: EmitListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    async def _enqueue(self, rows: list[_Row]) -> None:
        if self._closed:
            raise RuntimeError("outbox is closed")
        if not rows:
            return
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        with self._lock:
            self._pending.append(_Pending(rows, done, loop))
            if not self._flush_scheduled:
                self._flush_scheduled = True
                self._executor.submit(self._flush)
        await done
        for row in rows:
            for listener in list(self._listeners):
                listener(row.kind, row.priority)

    def _flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
            self._flush_scheduled = False
        error: BaseException | None = None
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.executemany(
                _INSERT,
                [
                    (r.id, r.priority, r.kind, r.body, r.created_at, r.id)
                    for pending in batch
                    for r in pending.rows
                ],
            )
            self._conn.execute("COMMIT")
        except BaseException as exc:  # the waiting producers must hear about it
            error = exc
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        for pending in batch:
            pending.loop.call_soon_threadsafe(_settle, pending.done, error)

    # -- the uplink --------------------------------------------------------------------------

    async def peek_batch(
        self, limit: int, *, exclude: Collection[str] = (), urgent_only: bool = False
    ) -> list[StoredEvent]:
        """Up to ``limit`` queued events, panic/fall first then oldest, skipping ``exclude``."""
        return await self._call(self._peek, limit, frozenset(exclude), urgent_only)

    def _peek(self, limit: int, exclude: frozenset[str], urgent_only: bool) -> list[StoredEvent]:
        # Excluded ids are rows at the head of the order, so reading that many extra rows
        # is enough and keeps the query a plain index walk.
        where = "WHERE priority = 0" if urgent_only else ""
        rows = self._conn.execute(
            f"SELECT seq, id, kind, priority, body FROM outbox {where} "  # noqa: S608
            "ORDER BY priority, seq LIMIT ?",
            (limit + len(exclude),),
        ).fetchall()
        found = [StoredEvent(*row) for row in rows if row[1] not in exclude]
        return found[:limit]

    async def ack(self, ids: Collection[str]) -> int:
        """Delete exactly these ids; return how many were queued."""
        if not ids:
            return 0
        return await self._call(self._ack, list(ids))

    def _ack(self, ids: list[str]) -> int:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            deleted = 0
            for chunk_start in range(0, len(ids), 500):
                chunk = ids[chunk_start : chunk_start + 500]
                marks = ",".join("?" * len(chunk))
                cursor = self._conn.execute(
                    f"DELETE FROM outbox WHERE id IN ({marks})",  # noqa: S608
                    chunk,
                )
                deleted += cursor.rowcount
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return deleted

    async def dead_letter(self, event_id: str, *, reason: str) -> bool:
        """Move one queued event to the dead-letter table. False if it was not queued."""
        return await self._call(self._dead_letter, event_id, reason[:2000])

    def _dead_letter(self, event_id: str, reason: str) -> bool:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            moved = self._conn.execute(
                "INSERT OR IGNORE INTO dead_letter (id, kind, body, reason, created_at, dead_at) "
                "SELECT id, kind, body, ?, created_at, ? FROM outbox WHERE id = ?",
                (reason, datetime.now(UTC).isoformat(), event_id),
            ).rowcount
            self._conn.execute("DELETE FROM outbox WHERE id = ?", (event_id,))
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return moved > 0

    # -- inspection --------------------------------------------------------------------------

    async def depth(self) -> int:
        return await self._call(self._scalar, "SELECT count(*) FROM outbox")

    async def urgent_depth(self) -> int:
        return await self._call(self._scalar, "SELECT count(*) FROM outbox WHERE priority = 0")

    def _scalar(self, sql: str) -> int:
        value = self._conn.execute(sql).fetchone()[0]
        return int(value)

    async def dead_letters(self) -> list[DeadLetter]:
        return await self._call(self._dead_letters)

    def _dead_letters(self) -> list[DeadLetter]:
        rows = self._conn.execute(
            "SELECT id, kind, body, reason, dead_at FROM dead_letter ORDER BY dead_at"
        ).fetchall()
        return [DeadLetter(*row) for row in rows]

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._call(self._conn.close)
        self._executor.shutdown(wait=True)

    async def _call(self, fn: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():  # the producer was cancelled; its row is stored all the same
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
