"""The durable outbox: every event is committed to SQLite before anything else happens to it.

Threading: one SQLite connection, used only by one dedicated worker thread. Every call from
the event loop is handed to that thread, so the loop never waits on a disk flush. Emits that
arrive while a commit is under way are written together in the next transaction (group
commit): each ``emit`` still returns only after its own row is on disk
(``journal_mode=WAL``, ``synchronous=FULL``), but many producers share one fsync.

Order: panic and fall events first, then oldest first (``seq`` is an AUTOINCREMENT rowid, so
creation order survives deletes and restarts). An event the server rejects goes to the
``dead_letter`` table: kept for a person to look at, never sent again.

A full (or failing) disk: an event that cannot be committed is kept in memory instead and
``emit`` still returns, so a panic pressed on a hub whose disk filled up is still sent, and is
forgotten only when the server acknowledges it. Readings are kept the same way up to
``MEMORY_LIMIT`` events; past that a reading is refused (``StorageFull``), a panic or fall
never is. Every later write tries the disk again first: once it has room, what waited in
memory is committed and the outbox is durable again. ``storage_problem`` says what is wrong
(the hub's heartbeat carries it, so the server raises a device alert). What is only in
memory is lost if the hub loses power before the disk has room again: the price of sending
a panic at all rather than refusing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from eldercare_protocol import Event, EventKind

log = logging.getLogger(__name__)

T = TypeVar("T")

# Events kept in memory while the disk is full, beyond which readings are refused.
MEMORY_LIMIT = 10_000
# Less free space than this on the outbox's disk is reported as full.
MIN_FREE_BYTES = 1 << 20
# How often reads and acks try a full disk again (every write tries anyway).
RETRY_DISK_S = 1.0
# SQLite result codes (the low byte of an extended code) that mean the disk cannot take more.
_SQLITE_FULL = 13
_SQLITE_IOERR = 10
# Events only in memory sort after every stored one of the same priority (they are newer).
_MEMORY_SEQ_BASE = 1 << 62

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


class StorageFull(OSError):
    """The disk is full and the memory kept for such times is too: a reading is refused."""


def _storage_problem(exc: BaseException) -> str | None:
    """What a failed write says about the disk, or None if it is not a disk problem."""
    if isinstance(exc, sqlite3.Error):
        code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
        if code == _SQLITE_FULL:
            return "disk full"
        if code == _SQLITE_IOERR:
            return "disk I/O error"
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return "disk full"
    return None


def _open(path: Path | str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(_SCHEMA)
    except BaseException:
        conn.close()
        raise
    return conn


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
        self.storage_problem: str | None = None
        # True while the outbox runs on a database in memory because the file could not be
        # opened (a hub restarted with its disk full): the panic button must work all the same.
        self._in_memory = False
        try:
            self._conn = _open(self.path)
        except sqlite3.Error as exc:
            problem = _storage_problem(exc)
            if problem is None:
                raise
            log.error(
                "outbox %s cannot be opened: %s; events are kept in memory and still sent, "
                "and what was queued on disk waits until it has room",
                self.path,
                problem,
            )
            self.storage_problem = problem
            self._in_memory = True
            self._conn = _open(":memory:")
        self._next_retry = 0.0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox")
        self._lock = threading.Lock()
        self._pending: list[_Pending] = []
        self._flush_scheduled = False
        self._listeners: list[EmitListener] = []
        self._closed = False
        # Only touched on the worker thread: events not yet on disk, and ids the server
        # acknowledged whose rows could not be deleted yet.
        self._memory: dict[str, _Row] = {}
        self._acked_unsaved: set[str] = set()

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
        rows = [r for pending in batch for r in pending.rows]
        if self._in_memory:
            self._retry_disk()
        error: BaseException | None = None
        try:
            self._write(rows)
        except BaseException as exc:  # the waiting producers must hear about it
            problem = _storage_problem(exc)
            if problem is None:
                error = exc
            else:
                self._storage_failed(problem)
                error = self._keep_in_memory(rows)
        for pending in batch:
            pending.loop.call_soon_threadsafe(_settle, pending.done, error)

    def _write(self, rows: list[_Row]) -> None:
        """Commit these rows, and first whatever waited in memory for the disk to have room."""
        waiting = list(self._memory.values())
        forgotten = sorted(self._acked_unsaved)
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            self._delete(forgotten)
            self._conn.executemany(
                _INSERT,
                [(r.id, r.priority, r.kind, r.body, r.created_at, r.id) for r in [*waiting, *rows]],
            )
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
            raise
        for r in waiting:
            self._memory.pop(r.id, None)
        self._acked_unsaved.difference_update(forgotten)
        if self.storage_problem is not None and not self._in_memory:
            log.warning(
                "outbox: the disk takes writes again; %d event(s) kept in memory are stored",
                len(waiting),
            )
            self.storage_problem = None

    def _storage_failed(self, problem: str) -> None:
        if self.storage_problem is None:
            log.error(
                "outbox %s: %s; events are kept in memory and still sent until it has room",
                self.path,
                problem,
            )
        self.storage_problem = problem

    def _keep_in_memory(self, rows: list[_Row]) -> BaseException | None:
        refused = 0
        for r in rows:
            if r.id in self._memory:
                continue
            if r.priority != PRIORITY_URGENT and len(self._memory) >= MEMORY_LIMIT:
                refused += 1
                continue
            self._memory[r.id] = r
        if refused:
            return StorageFull(errno.ENOSPC, f"outbox: disk full and {MEMORY_LIMIT} events wait")
        return None

    def _retry_disk(self) -> None:
        """Before reading or deleting: commit what waits in memory if the disk has room
        (at most once a second: a full disk refuses fast, but not for free)."""
        now = time.monotonic()
        if now < self._next_retry:
            return
        self._next_retry = now + RETRY_DISK_S
        if self._in_memory:
            self._reopen_disk()
        if self._memory or self._acked_unsaved:
            with contextlib.suppress(sqlite3.Error, OSError):
                self._write([])

    def _reopen_disk(self) -> None:
        """Move from the database in memory to the file, once the file can be opened."""
        try:
            disk = _open(self.path)
        except sqlite3.Error:
            return
        try:
            disk.execute("BEGIN IMMEDIATE")
            disk.executemany(
                _INSERT,
                [
                    (*row, row[0])
                    for row in self._conn.execute(
                        "SELECT id, priority, kind, body, created_at FROM outbox ORDER BY seq"
                    )
                ],
            )
            disk.executemany(
                "INSERT OR IGNORE INTO dead_letter (id, kind, body, reason, created_at, dead_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                self._conn.execute(
                    "SELECT id, kind, body, reason, created_at, dead_at FROM dead_letter"
                ).fetchall(),
            )
            disk.execute("COMMIT")
        except sqlite3.Error:
            with contextlib.suppress(sqlite3.Error):
                disk.close()
            return
        self._conn.close()
        self._conn = disk
        self._in_memory = False
        log.warning(
            "outbox %s: the disk takes writes again; events kept in memory are stored", self.path
        )
        if not self._memory:
            self.storage_problem = None

    # -- the uplink --------------------------------------------------------------------------

    async def peek_batch(
        self, limit: int, *, exclude: Collection[str] = (), urgent_only: bool = False
    ) -> list[StoredEvent]:
        """Up to ``limit`` queued events, panic/fall first then oldest, skipping ``exclude``."""
        return await self._call(self._peek, limit, frozenset(exclude), urgent_only)

    def _peek(self, limit: int, exclude: frozenset[str], urgent_only: bool) -> list[StoredEvent]:
        self._retry_disk()
        # Excluded ids are rows at the head of the order, so reading that many extra rows
        # is enough and keeps the query a plain index walk.
        where = "WHERE priority = 0" if urgent_only else ""
        skip = exclude | self._acked_unsaved
        rows = self._conn.execute(
            f"SELECT seq, id, kind, priority, body FROM outbox {where} "  # noqa: S608
            "ORDER BY priority, seq LIMIT ?",
            (limit + len(skip),),
        ).fetchall()
        found = [StoredEvent(*row) for row in rows if row[1] not in skip]
        if self._memory:
            on_disk = {event.id for event in found}
            found.extend(
                StoredEvent(_MEMORY_SEQ_BASE + n, r.id, r.kind, r.priority, r.body)
                for n, r in enumerate(self._memory.values())
                if r.id not in skip
                and r.id not in on_disk
                and (not urgent_only or r.priority == PRIORITY_URGENT)
            )
            found.sort(key=lambda e: (e.priority, e.seq))
        return found[:limit]

    async def ack(self, ids: Collection[str]) -> int:
        """Delete exactly these ids; return how many were queued."""
        if not ids:
            return 0
        return await self._call(self._ack, list(ids))

    def _ack(self, ids: list[str]) -> int:
        from_memory = [i for i in ids if self._memory.pop(i, None) is not None]
        rest = [i for i in ids if i not in set(from_memory)]
        self._retry_disk()
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            deleted = self._delete(rest)
            self._conn.execute("COMMIT")
        except BaseException as exc:
            if self._conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
            problem = _storage_problem(exc)
            if problem is None:
                raise
            # The server has them: never send them again, delete them when the disk allows.
            self._storage_failed(problem)
            queued = self._queued(rest)
            self._acked_unsaved.update(queued)
            return len(from_memory) + len(queued)
        return len(from_memory) + deleted

    def _delete(self, ids: list[str]) -> int:
        deleted = 0
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start : chunk_start + 500]
            marks = ",".join("?" * len(chunk))
            cursor = self._conn.execute(
                f"DELETE FROM outbox WHERE id IN ({marks})",  # noqa: S608
                chunk,
            )
            deleted += cursor.rowcount
        return deleted

    def _queued(self, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start : chunk_start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(
                row[0]
                for row in self._conn.execute(
                    f"SELECT id FROM outbox WHERE id IN ({marks})",  # noqa: S608
                    chunk,
                )
            )
        return found - self._acked_unsaved

    async def dead_letter(self, event_id: str, *, reason: str) -> bool:
        """Move one queued event to the dead-letter table. False if it was not queued."""
        return await self._call(self._dead_letter, event_id, reason[:2000])

    def _dead_letter(self, event_id: str, reason: str) -> bool:
        kept = self._memory.pop(event_id, None)
        if kept is not None:
            # Never on disk, and the disk cannot take it now: said in the log, not re-sent.
            log.error("outbox: event %s refused by the server (%s); not kept", event_id, reason)
            return True
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            moved = self._conn.execute(
                "INSERT OR IGNORE INTO dead_letter (id, kind, body, reason, created_at, dead_at) "
                "SELECT id, kind, body, ?, created_at, ? FROM outbox WHERE id = ?",
                (reason, datetime.now(UTC).isoformat(), event_id),
            ).rowcount
            self._conn.execute("DELETE FROM outbox WHERE id = ?", (event_id,))
            self._conn.execute("COMMIT")
        except BaseException as exc:
            if self._conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
            problem = _storage_problem(exc)
            if problem is None:
                raise
            self._storage_failed(problem)
            log.error("outbox: event %s refused by the server (%s); not kept", event_id, reason)
            self._acked_unsaved.add(event_id)
            return True
        return moved > 0

    # -- inspection --------------------------------------------------------------------------

    def storage_state(self) -> str | None:
        """What the heartbeat says of the disk: a failed write, or a disk with less than
        ``MIN_FREE_BYTES`` left (SQLite may still reuse its WAL then, but not for long)."""
        if self.storage_problem is not None:
            return self.storage_problem
        try:
            stats = os.statvfs(self.path.parent)
        except OSError:
            return None
        if stats.f_bavail * stats.f_frsize < MIN_FREE_BYTES:
            return "disk full"
        return None

    # -- inspection (async) --------------------------------------------------------------------------

    async def depth(self) -> int:
        """Events waiting to be acknowledged: on disk and, while the disk is full, in memory."""
        return await self._call(self._depth, False)

    async def urgent_depth(self) -> int:
        return await self._call(self._depth, True)

    def _depth(self, urgent_only: bool) -> int:
        where = "WHERE priority = 0" if urgent_only else ""
        on_disk = int(
            self._conn.execute(f"SELECT count(*) FROM outbox {where}").fetchone()[0]  # noqa: S608
        )
        in_memory = sum(
            1 for r in self._memory.values() if not urgent_only or r.priority == PRIORITY_URGENT
        )
        return max(0, on_disk - len(self._acked_unsaved)) + in_memory

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
