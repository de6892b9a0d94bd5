"""From a hub's message to ack and error frames; a writer that groups messages per transaction.

The same `Ingestor.handle` serves the WebSocket and the HTTP batch endpoint. Database work
runs in worker threads, never on the event loop: each writer thread takes every message
waiting, stores them in one transaction, commits, and only then are the hubs acked. With
hundreds of hubs sending small messages this is one commit for many.

A message with a panic or a fall takes the emergency lane: its own writer and thread, never
queued behind readings or grouped with them. On SQLite, where one transaction writes at a
time, the `WriteGate` lets it in next; the reading projector commits early for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, Literal

import anyio
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from eldercare_protocol import (
    MAX_EVENTS_PER_BATCH,
    MAX_MESSAGE_BYTES,
    AckMessage,
    ErrorCode,
    ErrorMessage,
    Event,
    EventKind,
    parse_events_leniently,
)
from server.common.time import utcnow
from server.devices.config import DevicesSettings
from server.devices.limits import HubLimiter
from server.devices.service import HubIdentity
from server.devices.store import (
    URGENT_KINDS,
    StoreOutcome,
    Submission,
    project_readings,
    store_group,
)
from server.errors import database_down
from server.telemetry import instruments as metrics

log = logging.getLogger(__name__)
# Readings per projector transaction: small, so a panic never waits long for the writer.
PROJECT_BATCH = 100
PROJECT_SWEEP_S = 5.0
# How long a step of the projector waits for the ingest queues to empty before it runs anyway
# (it looks every 10 ms). Waiting for an empty queue alone, looking every 50 ms, left 370 to
# 5,025 readings untriaged 5 s after a 1,000 readings/s run (bench/console_latency.py); this
# leaves none, for a few per cent of batched ingest (bench/ingest.py) during a burst.
PROJECT_YIELD_S = 0.25


@dataclass
class Reply:
    """The answer to one message: error frames (in order), then one ack."""

    errors: list[ErrorMessage] = dataclass_field(default_factory=list)
    acked: list[uuid.UUID] = dataclass_field(default_factory=list)
    # Set when the whole message was refused: the HTTP status that says why.
    status: int = 200
    retry_after: float | None = None

    def ack(self, *, with_errors: bool = False) -> AckMessage:
        return AckMessage(ids=self.acked, errors=self.errors if with_errors else [])


def _refuse(code: ErrorCode, message: str, status: int) -> Reply:
    return Reply(errors=[ErrorMessage(code=code, message=message)], status=status)


def read_message(data: str | bytes) -> tuple[list[Any], Reply | None]:
    """The raw events of an events message, or a Reply naming what is wrong with it."""
    size = len(data.encode() if isinstance(data, str) else data)
    if size > MAX_MESSAGE_BYTES:
        return [], _refuse(
            ErrorCode.TOO_LARGE,
            f"message is {size} bytes; the limit is {MAX_MESSAGE_BYTES} bytes",
            413,
        )
    try:
        message = json.loads(data)
    except UnicodeDecodeError:
        return [], _refuse(ErrorCode.MALFORMED_JSON, "message is not UTF-8 text", 400)
    except ValueError as exc:
        return [], _refuse(ErrorCode.MALFORMED_JSON, f"message is not valid JSON: {exc}", 400)
    except RecursionError:
        # "[[[[…" a hundred thousand deep fits in the size limit; it is the sender's fault,
        # not a reason to drop the connection as if the database had failed.
        return [], _refuse(ErrorCode.MALFORMED_JSON, "message is nested too deeply", 400)
    if not isinstance(message, dict):
        return [], _refuse(
            ErrorCode.INVALID_MESSAGE,
            f"expected a JSON object, got {type(message).__name__}",
            400,
        )
    kind = message.get("type")
    if kind != "events":
        return [], _refuse(
            ErrorCode.INVALID_MESSAGE,
            f"unknown message type {str(kind)[:32]!r}; expected 'events'",
            400,
        )
    events = message.get("events")
    if not isinstance(events, list):
        return [], _refuse(ErrorCode.INVALID_MESSAGE, "'events' must be a list", 400)
    extra = sorted(set(message) - {"type", "events"})
    if extra:
        return [], _refuse(
            ErrorCode.INVALID_MESSAGE, f"unknown fields in message: {', '.join(extra)[:200]}", 400
        )
    if len(events) > MAX_EVENTS_PER_BATCH:
        return [], _refuse(
            ErrorCode.TOO_MANY_EVENTS,
            f"{len(events)} events in one message; the limit is {MAX_EVENTS_PER_BATCH}",
            400,
        )
    return events, None


class WriteGate:
    """Emergency writes first: other ingest transactions wait while one is in flight.

    On SQLite (`exclusive`) it is also the one-writer lock: left to SQLite's busy handler, a
    panic would wait out the current transaction and then sleep in back-off steps of up to
    100 ms; here it goes next. On PostgreSQL writes run side by side, but they share this
    process's interpreter, so readings wait the few milliseconds a panic takes instead of
    competing with it. The projector is told to commit early (`urgent_pending`).
    """

    def __init__(self, *, exclusive: bool) -> None:
        self.exclusive = exclusive
        self._cond = threading.Condition()
        self._held = False
        self._urgent = 0  # emergency writes waiting or writing

    @property
    def urgent_pending(self) -> bool:
        return self._urgent > 0

    @contextlib.contextmanager
    def hold(self, *, urgent: bool) -> Iterator[None]:
        with self._cond:
            if urgent:
                self._urgent += 1
                self._cond.wait_for(lambda: not self._held)
            else:
                self._cond.wait_for(lambda: not self._held and not self._urgent)
            self._held = self.exclusive
        try:
            yield
        finally:
            with self._cond:
                self._held = False
                if urgent:
                    self._urgent -= 1
                self._cond.notify_all()


class _WireMessage(BaseModel):
    """An events message exactly as the server accepts it ("type" required)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["events"]
    events: list[Event] = Field(max_length=MAX_EVENTS_PER_BATCH)


def read_events(data: str | bytes) -> tuple[list[Event], Reply]:
    """The valid events of a message and the reply so far (errors naming the bad ones)."""
    size = len(data.encode() if isinstance(data, str) else data)
    if size <= MAX_MESSAGE_BYTES:
        # Nearly every message is valid: bytes to models in one pass, about twice as fast
        # as parsing the JSON and then each event. Anything wrong takes the slow path,
        # which says exactly what and keeps the good events.
        with contextlib.suppress(ValidationError):
            return _without_nul(data, list(_WireMessage.model_validate_json(data).events), Reply())
    raw, refused = read_message(data)
    if refused is not None:
        return [], refused
    good, problems = parse_events_leniently(raw)
    errors = [
        ErrorMessage(
            code=ErrorCode.INVALID_EVENT,
            message=p.message[:500],
            index=p.index,
            event_id=p.event_id,
        )
        for p in problems
    ]
    return _without_nul(data, good, Reply(errors=errors))


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _without_nul(data: str | bytes, events: list[Event], reply: Reply) -> tuple[list[Event], Reply]:
    """Refuses, by id, events carrying a NUL character. PostgreSQL cannot store one in text
    or JSON, so such an event would fail its whole message on every resend, a panic beside
    it included. JSON can only spell NUL as an escape, so most messages skip the walk."""
    found = "\\u0000" in data if isinstance(data, str) else b"\\u0000" in data
    if not found:
        return events, reply
    kept: list[Event] = []
    for event in events:
        if _has_nul(event.model_dump()):
            reply.errors.append(
                ErrorMessage(
                    code=ErrorCode.INVALID_EVENT,
                    message="a text field contains a NUL character",
                    event_id=str(event.id),
                )
            )
        else:
            kept.append(event)
    return kept, reply


@dataclass
class _Job:
    submission: Submission
    future: asyncio.Future[StoreOutcome]


class Ingestor:
    """Owns the writer tasks and per-hub limits of one server process."""

    def __init__(self, engine: Engine, settings: DevicesSettings) -> None:
        self.engine = engine
        self.settings = settings
        self.limiter = HubLimiter(rate=settings.rate_per_second, burst=settings.burst)
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._urgent: asyncio.Queue[_Job] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        sqlite = engine.dialect.name == "sqlite"
        # Readings and the projector share these threads; the emergency lane has its own.
        self._threads = anyio.CapacityLimiter(settings.writers)
        self._urgent_thread = anyio.CapacityLimiter(1)
        self.gate = WriteGate(exclusive=sqlite)
        self._readings_queued = asyncio.Event()

    def start(self) -> None:
        self._tasks.append(
            asyncio.create_task(
                self._writer(self._urgent, self._urgent_thread, urgent=True),
                name="ingest-emergency-writer",
            )
        )
        for n in range(self.settings.writers):
            self._tasks.append(
                asyncio.create_task(
                    self._writer(self._queue, self._threads, urgent=False),
                    name=f"ingest-writer-{n}",
                )
            )
        if self.settings.readings == "inline":
            self._tasks.append(asyncio.create_task(self._projector(), name="reading-projector"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def handle(self, hub: HubIdentity, data: str | bytes) -> Reply:
        good, reply = read_events(data)
        if not good:
            return reply
        wait = self.limiter.take(hub.device_id, len(good))
        if wait > 0:
            # Emergencies are never held back; the rest waits for the hub's bucket.
            good = [e for e in good if e.kind in URGENT_KINDS]
            reply.errors.append(
                ErrorMessage(
                    code=ErrorCode.RATE_LIMITED,
                    message=(
                        f"more than {self.settings.rate_per_second:g} events/s from this hub; "
                        f"retry after {wait:.1f} s"
                    ),
                    retry_after=round(wait, 3),
                )
            )
            reply.status = 429
            reply.retry_after = wait
            if not good:
                return reply
        outcome = await self.submit(hub, good)
        reply.acked = outcome.acked
        reply.errors.extend(outcome.refused)
        return reply

    async def submit(
        self, hub: HubIdentity, events: Sequence[Event], *, supervise: bool = True
    ) -> StoreOutcome:
        submission = Submission(
            hub=hub, events=list(events), received_at=utcnow(), supervise=supervise
        )
        future: asyncio.Future[StoreOutcome] = asyncio.get_running_loop().create_future()
        lane = self._urgent if submission.urgent else self._queue
        lane.put_nowait(_Job(submission, future))
        return await future

    async def _writer(
        self, queue: asyncio.Queue[_Job], threads: anyio.CapacityLimiter, *, urgent: bool
    ) -> None:
        limit = self.settings.max_group_events
        while True:
            job = await queue.get()
            group = [job]
            size = len(job.submission.events)
            while size < limit and not queue.empty():
                more = queue.get_nowait()
                group.append(more)
                size += len(more.submission.events)
            try:
                outcomes = await anyio.to_thread.run_sync(
                    self._write, [j.submission for j in group], urgent, limiter=threads
                )
            except Exception as exc:
                _failed(
                    exc, "storing a group of %d messages failed; storing one by one", len(group)
                )
                outcomes = None
            if any(e.kind == EventKind.VITALS for j in group for e in j.submission.events):
                self._readings_queued.set()
            if outcomes is not None:
                for j, outcome in zip(group, outcomes, strict=True):
                    if not j.future.done():
                        j.future.set_result(outcome)
                continue
            for j in group:
                try:
                    (single,) = await anyio.to_thread.run_sync(
                        self._write, [j.submission], urgent, limiter=threads
                    )
                except Exception as exc:
                    _failed(exc, "storing a message from hub %s failed", j.submission.hub.device_id)
                    if not j.future.done():
                        j.future.set_exception(exc)
                else:
                    if not j.future.done():
                        j.future.set_result(single)

    async def _projector(self) -> None:
        """Readings to observations, as soon as they are queued (and every few seconds, for
        anything queued before a restart or by another process)."""
        while True:
            # Not asyncio.wait_for: on Python 3.11 it can lose the cancellation that stops
            # this loop when it comes together with a wake-up, and the shutdown then hangs.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(PROJECT_SWEEP_S):
                    await self._readings_queued.wait()
            self._readings_queued.clear()
            while True:
                # Storing and acking come first; readings wait (they are safe in the queue),
                # but only so long: under a steady stream of messages the queue is seldom
                # empty, and a projector that waited for that fell behind without end.
                until = time.monotonic() + PROJECT_YIELD_S
                while time.monotonic() < until and not (  # noqa: ASYNC110
                    self._queue.empty() and self._urgent.empty()
                ):
                    await asyncio.sleep(0.01)
                try:
                    done = await anyio.to_thread.run_sync(self._project, limiter=self._threads)
                except Exception as exc:
                    _failed(exc, "turning readings into observations failed; will retry")
                    break
                if done == 0:
                    break

    def _project(self) -> int:
        # The gate only around storing: reading the queue and triage write nothing, so an
        # emergency need not wait for them.
        with Session(self.engine, expire_on_commit=False) as session:
            return project_readings(
                session,
                settings=self.settings,
                limit=PROJECT_BATCH,
                yield_to=lambda: self.gate.urgent_pending,
                write_gate=lambda: self.gate.hold(urgent=False),
            )

    def _write(self, submissions: list[Submission], urgent: bool) -> list[StoreOutcome]:
        with self.gate.hold(urgent=urgent), Session(self.engine, expire_on_commit=False) as session:
            durable_commit(session)
            outcomes = store_group(session, submissions, settings=self.settings)
            session.commit()
        committed = utcnow()
        for submission in submissions:
            metrics.observe_ingest(
                (str(e.kind) for e in submission.events), submission.received_at, committed
            )
        return outcomes


def durable_commit(session: Session) -> None:
    """This transaction's commit returns only once it is on disk: it is about to be acked,
    and the hub deletes what is acked.

    PostgreSQL: ``synchronous_commit`` on for this transaction, whatever the server, database
    or role default (an operator may turn it off for speed elsewhere); SET LOCAL also holds
    through a transaction-pooling proxy. SQLite: every connection runs ``synchronous=FULL``
    (``server.db``).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.connection().exec_driver_sql("SET LOCAL synchronous_commit = on")


def _failed(exc: Exception, message: str, *args: object) -> None:
    """A database that is restarting or unreachable is one line (hundreds of hubs meet it at
    once, and the hubs send again); anything else keeps its traceback."""
    if isinstance(exc, OperationalError):
        log.warning(message + " (database unavailable: %s)", *args, database_down(exc))
    else:
        log.exception(message, *args)
