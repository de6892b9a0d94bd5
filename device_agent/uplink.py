"""Forward the outbox to the server: one WebSocket, HTTP batches when the WebSocket is blocked.

The reconnect loop follows python-websockets' client pattern (``async for ws in connect``),
written out by hand because between attempts it must count failures, fall back to HTTP, and
stop outright on a refused hub token instead of retrying.

Per connection, up to ``max_frames_in_flight`` events frames are outstanding. The server
answers each events message, in order, with error frames about its bad events (if any) and
then exactly one ack. An urgent event (panic, fall) is sent as soon as it is stored, even when
the window is full: it never waits behind a backlog of readings.

Only acked ids are deleted. An event the server rejects is moved to the outbox's dead-letter
table and never sent again. Frames not acked when a connection ends are sent again on the
next one; the server stores by id, so a resend is harmless.

The server may also send ``downlink`` messages (e.g. "say help is coming"). Each is handed to
the ``downlink`` handler in a task of its own (a prompt takes seconds to play; acks keep
flowing meanwhile) and answered with a ``downlink_ack``; a kind this hub does not know is
logged and acknowledged as unsupported, and never ends the connection.

A panic or fall has its own deadline (``panic_ack_deadline_s``, a few seconds). A link can
die without closing (a NAT timeout, a Wi-Fi ↔ 4G switch): bytes vanish and nothing says so.
If the emergency is not acked in time, the socket is aborted at once (a close handshake on a
dead link would only wait out its timeout), a new one is opened, and the emergency also goes
over HTTP on a fresh connection, again every ``panic_retry_s`` until some path acks it. The
server stores an event id once, so an emergency that arrives both ways is one alert. When
no path has worked for ``sms_after_s`` and the hub has a cellular modem, it is also sent as
an SMS to the centre (``device_agent.cellular``).

Logs carry ids, kinds and counts, never health values.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import logging
import random
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import ValidationError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from device_agent.cellular import Modem, sms_text
from device_agent.config import CellularConfig, UplinkConfig, endpoints
from device_agent.health import AGENT_VERSION
from device_agent.outbox import PRIORITY_URGENT, Outbox, StoredEvent
from eldercare_protocol import (
    DOWNLINK_ADAPTER,
    MAX_MESSAGE_BYTES,
    Downlink,
    DownlinkAck,
    DownlinkKind,
    DownlinkOutcome,
    ErrorCode,
)

log = logging.getLogger(__name__)

USER_AGENT = f"eldercare-agent/{AGENT_VERSION}"
MAX_RETRY_AFTER_S = 600.0
RATE_LIMIT_PAUSE_S = 5.0
MAX_EMERGENCY_TRIES = 3
_FRAME_HEAD = '{"type":"events","events":['
_FRAME_TAIL = "]}"


class UplinkAuthError(RuntimeError):
    """The server refused the hub token (HTTP 401/403): it is wrong or was revoked."""

    def __init__(self, status: int, where: str) -> None:
        self.status = status
        super().__init__(
            f"the server refused this hub's token (HTTP {status} on {where}): the token is "
            "wrong or has been revoked; events stay queued in the outbox until the hub is "
            "given a valid token"
        )


class _Unavailable(Exception):
    """The WebSocket could not be established."""


class _AckTimeout(Exception):
    pass


class _LinkDead(Exception):
    """The link stopped answering (a keepalive ping, or a pending emergency): abort it."""


@dataclass
class UplinkState:
    """What the uplink is doing, for heartbeats, the CLI and tests."""

    transport: str | None = None  # "websocket", "http" or None (offline)
    connections: int = 0
    ws_failures: int = 0
    frames_sent: int = 0
    events_acked: int = 0
    dead_lettered: int = 0
    # The emergency path: sockets given up on a late panic/fall ack, emergencies sent
    # over HTTP because of one, and SMS sent when no path worked.
    sockets_aborted: int = 0
    emergency_http_posts: int = 0
    emergency_sms: int = 0
    last_error: str | None = None
    stopped: str | None = None


@dataclass(slots=True)
class _Frame:
    ids: list[str]
    sent_at: float


class Backoff:
    """Exponential backoff with jitter: each delay is drawn from [d/2, d], d doubling to a cap."""

    def __init__(self, *, base: float, cap: float, rng: random.Random | None = None) -> None:
        self.base = base
        self.cap = cap
        self.attempt = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.base * 2.0 ** min(self.attempt, 32))
        self.attempt += 1
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def reset(self) -> None:
        self.attempt = 0


def encode_frame(
    events: Sequence[StoredEvent], *, max_bytes: int = MAX_MESSAGE_BYTES
) -> tuple[str, list[str]]:
    """The events message for the longest prefix of ``events`` that fits, and its ids.

    The stored bodies are spliced in as they are: nothing is parsed or re-serialised.
    """
    size = len(_FRAME_HEAD) + len(_FRAME_TAIL)
    bodies: list[str] = []
    ids: list[str] = []
    for event in events:
        body_size = len(event.body.encode()) + (1 if bodies else 0)
        if size + body_size > max_bytes:
            break
        bodies.append(event.body)
        ids.append(event.id)
        size += body_size
    return (_FRAME_HEAD + ",".join(bodies) + _FRAME_TAIL if bodies else ""), ids


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), capped."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, min(MAX_RETRY_AFTER_S, seconds))


@dataclass
class _ServerError:
    code: str
    message: str
    index: int | None
    event_id: str | None


def _read_error(raw: dict[str, Any]) -> _ServerError:
    # Read leniently: a code this agent does not know yet must still be logged and handled.
    index = raw.get("index")
    event_id = raw.get("event_id")
    return _ServerError(
        code=str(raw.get("code", "unknown"))[:64],
        message=str(raw.get("message", ""))[:500],
        index=index if isinstance(index, int) and not isinstance(index, bool) else None,
        event_id=str(event_id)[:64] if event_id is not None else None,
    )


def _read_ack(raw: dict[str, Any]) -> tuple[list[str], list[_ServerError]] | None:
    ids = raw.get("ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        return None
    errors = raw.get("errors") or []
    if not isinstance(errors, list):
        return None
    return list(ids), [_read_error(e) for e in errors if isinstance(e, dict)]


SmsSender = Callable[[str, str], Awaitable[object]]
"""Sends a text to a number (the cellular modem's ``send_sms``)."""

DownlinkHandler = Callable[[Downlink], Awaitable[DownlinkOutcome]]
"""Carries out one downlink (e.g. plays a prompt) and says how it went."""


class Uplink:
    """Drains an ``Outbox`` to the server until cancelled; raises ``UplinkAuthError``."""

    def __init__(
        self,
        *,
        outbox: Outbox,
        server_url: str,
        token: str | Callable[[], str],
        settings: UplinkConfig | None = None,
        rng: random.Random | None = None,
        cellular: CellularConfig | None = None,
        sms_sender: SmsSender | None = None,
        downlink: DownlinkHandler | None = None,
    ) -> None:
        self.outbox = outbox
        self.downlink = downlink
        self.ws_url, self.http_url = endpoints(server_url)
        self._token = token
        self.settings = settings or UplinkConfig()
        self.state = UplinkState()
        self._backoff = Backoff(
            base=self.settings.backoff_base_s, cap=self.settings.backoff_cap_s, rng=rng
        )
        self._wake = asyncio.Event()
        self._urgent_hint = True
        self._urgent_wake = asyncio.Event()
        self._session: _Session | None = None
        self.cellular = cellular
        self._sms = sms_sender
        if self._sms is None and cellular is not None:
            self._sms = Modem(cellular.modem, baudrate=cellular.baudrate).send_sms
        self._sms_sent: set[str] = set()
        self._over_http: set[str] = set()
        self._sms_tasks: set[asyncio.Task[None]] = set()

    def _on_emit(self, kind: str, priority: int) -> None:
        if priority == PRIORITY_URGENT:
            self._urgent_hint = True
            self._urgent_wake.set()
        self._wake.set()

    def _headers(self) -> dict[str, str]:
        token = self._token() if callable(self._token) else self._token
        return {"Authorization": f"Bearer {token}"}

    async def run(self) -> None:
        self.outbox.add_listener(self._on_emit)
        tasks = [
            asyncio.create_task(self._run(), name="uplink"),
            asyncio.create_task(self._emergency_loop(), name="uplink-emergency"),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        except UplinkAuthError as exc:
            self.state.stopped = str(exc)
            self.state.transport = None
            raise
        finally:
            for task in [*tasks, *self._sms_tasks]:
                task.cancel()
            await asyncio.gather(*tasks, *self._sms_tasks, return_exceptions=True)
            self.outbox.remove_listener(self._on_emit)

    async def _run(self) -> None:
        settings = self.settings
        while True:
            try:
                healthy = await self._websocket_session()
                self.state.ws_failures = 0
            except _Unavailable as exc:
                self.state.ws_failures += 1
                self.state.last_error = str(exc)
                log.warning("WebSocket unavailable (%s); attempt %d", exc, self.state.ws_failures)
                healthy = False
            if healthy:
                self._backoff.reset()
            if self.state.ws_failures >= settings.ws_failures_before_http:
                # Keep going over HTTP, then give the WebSocket one more try; if that fails
                # too, straight back to HTTP.
                await self._http_phase(until=time.monotonic() + settings.ws_retry_interval_s)
            else:
                delay = self._backoff.next_delay()
                log.info("reconnecting in %.1f s", delay)
                await asyncio.sleep(delay)

    # -- WebSocket -------------------------------------------------------------------------

    async def _websocket_session(self) -> bool:
        """One connection's life. True if it was healthy (acks came back, or it lasted)."""
        try:
            ws = await connect(
                self.ws_url,
                additional_headers=self._headers(),
                user_agent_header=USER_AGENT,
                open_timeout=self.settings.open_timeout_s,
                max_size=MAX_MESSAGE_BYTES,
                # Keepalive is the session's own: it aborts a silent link instead of
                # starting a close handshake that would wait for an answer that never comes.
                ping_interval=None,
                close_timeout=self.settings.close_timeout_s,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                raise UplinkAuthError(status, "the WebSocket handshake") from None
            raise _Unavailable(f"handshake refused with HTTP {status}") from None
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            raise _Unavailable(f"{type(exc).__name__}: {exc}") from None

        self.state.connections += 1
        self.state.transport = "websocket"
        log.info("connected to %s", self.ws_url)
        started = time.monotonic()
        session = _Session(self, ws)
        self._session = session
        clean = False
        try:
            await session.run()
        except ConnectionClosed as exc:
            self.state.last_error = f"connection closed: {exc}"
            log.warning("connection lost (%s)", exc)
        except _AckTimeout:
            self.state.last_error = "no ack within the timeout"
            log.warning("no ack within %.0f s; reconnecting", self.settings.ack_timeout_s)
        except _LinkDead as exc:
            self.state.last_error = str(exc)
            log.warning("%s; connection aborted, reconnecting", exc)
        except BaseException:
            clean = True  # stopping: say goodbye, briefly (close_timeout_s)
            raise
        finally:
            self._session = None
            self.state.transport = None
            if clean:
                with contextlib.suppress(Exception):
                    await ws.close()
            else:
                # No close handshake: on a silent link it would wait for an answer that
                # never comes before the next connection could be tried.
                ws.transport.abort()
        return session.acks > 0 or time.monotonic() - started >= self.settings.healthy_after_s

    # -- emergencies -------------------------------------------------------------------------

    async def _emergency_loop(self) -> None:
        """Panics and falls not acked within their deadline: abort, resend over HTTP, SMS."""
        first_seen: dict[str, float] = {}
        tries: set[asyncio.Task[bool]] = set()
        # No pooled connections: each try opens a fresh one (a kept one may be the dead link).
        # Connecting is what a dead link stalls; a slow server only delays the answer, and
        # the next try starts after panic_retry_s whatever this one is doing.
        client = httpx.AsyncClient(
            timeout=httpx.Timeout(
                self.settings.http_timeout_s,
                connect=max(2 * self.settings.panic_ack_deadline_s, 2.0),
            ),
            limits=httpx.Limits(max_keepalive_connections=0),
            headers={"User-Agent": USER_AGENT},
        )
        try:
            await self._emergencies(first_seen, tries, client)
        finally:
            for task in tries:
                task.cancel()
            await asyncio.gather(*tries, return_exceptions=True)
            await client.aclose()

    async def _emergencies(
        self,
        first_seen: dict[str, float],
        tries: set[asyncio.Task[bool]],
        client: httpx.AsyncClient,
    ) -> None:
        settings = self.settings
        deadline = settings.panic_ack_deadline_s
        while True:
            self._urgent_wake.clear()
            pending = await self.outbox.peek_batch(min(settings.batch_size, 50), urgent_only=True)
            now = time.monotonic()
            for gone in first_seen.keys() - {e.id for e in pending}:
                del first_seen[gone]
            for event in pending:
                first_seen.setdefault(event.id, now)
            self._sms_sent &= first_seen.keys()
            self._over_http &= first_seen.keys()
            if not pending:
                await self._urgent_wake.wait()
                continue
            due = min(first_seen.values()) + deadline
            if now < due:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._urgent_wake.wait(), timeout=due - now)
                continue
            overdue = [e for e in pending if now - first_seen[e.id] >= deadline]
            session = self._session
            if session is not None:
                session.abort_if_silent(since=min(first_seen[e.id] for e in overdue))
            for task in [t for t in tries if t.done()]:
                tries.discard(task)
                task.result()  # a refused token stops the uplink, as on the other paths
            # A new try every panic_retry_s even while earlier ones wait out their timeout on
            # a link that swallows packets: the first that gets through wins.
            if len(tries) < MAX_EMERGENCY_TRIES:
                tries.add(asyncio.create_task(self._emergency_http(client, overdue)))
            self._maybe_sms(overdue, first_seen, now)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._urgent_wake.wait(), timeout=settings.panic_retry_s)

    async def _emergency_http(self, client: httpx.AsyncClient, events: list[StoredEvent]) -> bool:
        """One try over HTTP, on a connection of its own."""
        body, sent_ids = encode_frame(events)
        if not sent_ids:
            return False
        for event in events[: len(sent_ids)]:
            if event.id not in self._over_http:
                self._over_http.add(event.id)
                log.warning(
                    "%s event %s not acked within %g s; sending over HTTP too",
                    event.kind, event.id, self.settings.panic_ack_deadline_s,
                )  # fmt: skip
        self.state.emergency_http_posts += 1
        try:
            response = await client.post(
                self.http_url,
                content=body.encode(),
                headers={**self._headers(), "Content-Type": "application/json"},
            )
        except httpx.HTTPError as exc:
            log.info("emergency over HTTP failed (%s); trying again", type(exc).__name__)
            return False
        if response.status_code in (401, 403):
            raise UplinkAuthError(response.status_code, "the HTTP batch endpoint")
        try:
            raw = response.json()
            parsed = _read_ack(raw) if isinstance(raw, dict) else None
        except ValueError:
            parsed = None
        if parsed is None:
            log.warning("emergency over HTTP answered %d without an ack", response.status_code)
            return False
        ids, errors = parsed
        acked = await self.outbox.ack(ids)
        self.state.events_acked += acked
        for error in errors:
            target = _error_target(error, sent_ids)
            if target is not None and error.code != ErrorCode.RATE_LIMITED:
                await self._dead_letter(target, f"{error.code}: {error.message}")
        for event_id in ids:
            if event_id in sent_ids:
                log.info("event %s acked over HTTP", event_id)
        return bool(set(ids) & set(sent_ids))

    def _maybe_sms(
        self, overdue: list[StoredEvent], first_seen: dict[str, float], now: float
    ) -> None:
        if self._sms is None or self.cellular is None:
            return
        for event in overdue:
            if event.id in self._sms_sent:
                continue
            if now - first_seen[event.id] < self.cellular.sms_after_s:
                continue
            self._sms_sent.add(event.id)
            task = asyncio.create_task(self._send_sms(event), name="uplink-sms")
            self._sms_tasks.add(task)
            task.add_done_callback(self._sms_tasks.discard)

    async def _send_sms(self, event: StoredEvent) -> None:
        assert self._sms is not None and self.cellular is not None
        try:
            text = sms_text(event.body)
            await self._sms(self.cellular.centre_number, text)
        except Exception as exc:
            # Tried again on the next round while the event is still unacked.
            self._sms_sent.discard(event.id)
            log.warning("SMS for %s event %s failed (%s)", event.kind, event.id, exc)
            return
        self.state.emergency_sms += 1
        log.warning("%s event %s sent by SMS: no other path worked", event.kind, event.id)

    # -- HTTP fallback ---------------------------------------------------------------------

    async def _http_phase(self, *, until: float) -> None:
        log.info("sending over HTTP until the WebSocket is retried")
        batch_size = self.settings.batch_size
        async with httpx.AsyncClient(
            timeout=self.settings.http_timeout_s, headers={"User-Agent": USER_AGENT}
        ) as client:
            while (remaining := until - time.monotonic()) > 0:
                self._wake.clear()
                batch = await self.outbox.peek_batch(batch_size)
                if not batch:
                    # Not asyncio.wait_for: on Python 3.11 it can lose a stop (cancellation)
                    # that comes together with a wake-up.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(remaining):
                            await self._wake.wait()
                    continue
                body, sent_ids = encode_frame(batch)
                if not sent_ids:
                    await self._dead_letter(batch[0].id, "too_large: larger than a message")
                    continue
                try:
                    response = await client.post(
                        self.http_url,
                        content=body.encode(),
                        headers={**self._headers(), "Content-Type": "application/json"},
                    )
                except httpx.HTTPError as exc:
                    self.state.transport = None
                    self.state.last_error = f"HTTP: {type(exc).__name__}"
                    delay = self._backoff.next_delay()
                    log.warning("HTTP batch failed (%s); retrying in %.1f s", exc, delay)
                    await asyncio.sleep(delay)
                    continue
                status = response.status_code
                if status in (401, 403):
                    raise UplinkAuthError(status, "the HTTP batch endpoint")
                if status == 413:
                    if len(sent_ids) == 1:
                        await self._dead_letter(sent_ids[0], "too_large: HTTP 413 on its own")
                    else:
                        batch_size = max(1, len(sent_ids) // 2)
                        log.warning("HTTP 413; splitting batches to %d events", batch_size)
                    continue
                if status == 429:
                    asked = retry_after_seconds(response.headers.get("Retry-After"))
                    wait_s = asked if asked is not None else self._backoff.next_delay()
                    log.warning("HTTP 429; waiting %.1f s as asked", wait_s)
                    await asyncio.sleep(wait_s)
                    continue
                if not 200 <= status < 300:
                    delay = self._backoff.next_delay()
                    self.state.last_error = f"HTTP {status}"
                    log.warning("HTTP batch answered %d; retrying in %.1f s", status, delay)
                    await asyncio.sleep(delay)
                    continue
                await self._http_ack(response, sent_ids)

    async def _http_ack(self, response: httpx.Response, sent_ids: list[str]) -> None:
        try:
            raw = response.json()
            parsed = _read_ack(raw) if isinstance(raw, dict) else None
        except ValueError:
            parsed = None
        if parsed is None:
            self.state.last_error = "HTTP: unreadable ack"
            log.warning("HTTP batch answered without a readable ack; will resend")
            await asyncio.sleep(self._backoff.next_delay())
            return
        ids, errors = parsed
        self.state.transport = "http"
        self._backoff.reset()
        acked = await self.outbox.ack(ids)  # awaited first: `+= await` would lose counts
        self.state.events_acked += acked
        for error in errors:
            target = _error_target(error, sent_ids)
            if target is not None:
                await self._dead_letter(target, f"{error.code}: {error.message}")

    async def _dead_letter(self, event_id: str, reason: str) -> None:
        if await self.outbox.dead_letter(event_id, reason=reason):
            self.state.dead_lettered += 1
            log.warning(
                "event %s rejected (%s); kept in dead letters", event_id, reason.split(":")[0]
            )


def _error_target(error: _ServerError, frame_ids: Sequence[str]) -> str | None:
    if error.event_id is not None and error.event_id in frame_ids:
        return error.event_id
    if error.index is not None and 0 <= error.index < len(frame_ids):
        return frame_ids[error.index]
    return None


class _Session:
    """The state of one WebSocket connection: frames in flight, in order."""

    def __init__(self, uplink: Uplink, ws: ClientConnection) -> None:
        self.uplink = uplink
        self.ws = ws
        self.opened_at = time.monotonic()
        self.last_heard = self.opened_at  # an ack or a pong
        self._dead: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.outbox = uplink.outbox
        self.settings = uplink.settings
        self.frames: deque[_Frame] = deque()
        # Sent and not yet acked on this connection; excluded from the next peeks. Ids a
        # server ack left out stay here until the connection ends, then go again.
        self.in_flight: set[str] = set()
        self.batch_size = self.settings.batch_size
        self.paused_until = 0.0
        self.acks = 0
        self.downlinks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        tasks = [
            asyncio.create_task(self._send_loop(), name="uplink-send"),
            asyncio.create_task(self._receive_loop(), name="uplink-receive"),
            asyncio.create_task(self._watchdog(), name="uplink-watchdog"),
            asyncio.create_task(self._keepalive(), name="uplink-keepalive"),
            asyncio.ensure_future(self._dead),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in [*tasks, *self.downlinks]:
                task.cancel()
            await asyncio.gather(*tasks, *self.downlinks, return_exceptions=True)
        for task in done:
            task.result()  # re-raise what ended the connection

    async def _send_loop(self) -> None:
        wake = self.uplink._wake
        while True:
            wake.clear()
            if (pause := self.paused_until - time.monotonic()) > 0:
                await asyncio.sleep(pause)
            window_full = len(self.frames) >= self.settings.max_frames_in_flight
            if window_full:
                if not self.uplink._urgent_hint:
                    await wake.wait()
                    continue
                self.uplink._urgent_hint = False
            batch = await self.outbox.peek_batch(
                self.batch_size, exclude=self.in_flight, urgent_only=window_full
            )
            if not batch:
                await wake.wait()
                continue
            await self._send(batch)

    async def _send(self, batch: list[StoredEvent]) -> None:
        frame, ids = encode_frame(batch)
        if not ids:
            await self.uplink._dead_letter(batch[0].id, "too_large: larger than a message")
            return
        self.frames.append(_Frame(ids=ids, sent_at=time.monotonic()))
        self.in_flight.update(ids)
        await self.ws.send(frame)
        self.uplink.state.frames_sent += 1
        urgent = [event for event in batch[: len(ids)] if event.priority == PRIORITY_URGENT]
        for event in urgent:
            log.info("%s event %s sent", event.kind, event.id)
        log.debug("sent %d events (%d urgent)", len(ids), len(urgent))

    async def _receive_loop(self) -> None:
        async for raw in self.ws:
            try:
                message = json.loads(raw)
            except ValueError:
                log.warning("ignored a frame from the server that is not JSON")
                continue
            kind = message.get("type") if isinstance(message, dict) else None
            if kind == "ack":
                parsed = _read_ack(message)
                if parsed is None:
                    log.warning("ignored a malformed ack frame")
                    continue
                ids, errors = parsed
                for error in errors:
                    await self._on_error(error)
                await self._on_ack(ids)
            elif kind == "error":
                await self._on_error(_read_error(message))
            elif kind == "downlink":
                task = asyncio.create_task(self._on_downlink(message), name="uplink-downlink")
                self.downlinks.add(task)
                task.add_done_callback(self.downlinks.discard)
            else:
                log.warning("ignored a frame of unknown type %r", str(kind)[:32])

    async def _on_downlink(self, message: dict[str, Any]) -> None:
        """Carries out one downlink and acknowledges it; a bad one is logged, never fatal."""
        raw_id = message.get("id")
        handler = self.uplink.downlink
        try:
            downlink_id = uuid.UUID(str(raw_id))
        except ValueError:
            log.warning("ignored a downlink without a usable id")
            return
        outcome = DownlinkOutcome.UNSUPPORTED
        known = {k.value for k in DownlinkKind}
        if handler is None or message.get("kind") not in known:
            log.warning("ignored a downlink of unknown kind %r", str(message.get("kind"))[:32])
        else:
            try:
                downlink = DOWNLINK_ADAPTER.validate_python(message)
            except ValidationError:
                log.warning("ignored a malformed %s downlink %s", message.get("kind"), raw_id)
            else:
                try:
                    outcome = await handler(downlink)
                except Exception:  # the speaker must never take the uplink down
                    log.exception("downlink %s failed", downlink_id)
                    outcome = DownlinkOutcome.FAILED
        ack = DownlinkAck(id=downlink_id, outcome=outcome)
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(ack.model_dump_json())

    async def _on_ack(self, ids: list[str]) -> None:
        self.acks += 1
        self.last_heard = time.monotonic()
        acked = await self.outbox.ack(ids)  # the HTTP path may be counting at the same time
        self.uplink.state.events_acked += acked
        self.in_flight.difference_update(ids)
        if self.frames:
            frame = self.frames.popleft()
            left_out = [i for i in frame.ids if i in self.in_flight]
            if left_out:
                log.warning("%d events not acked; sent again on reconnect", len(left_out))
        self.uplink._wake.set()

    async def _on_error(self, error: _ServerError) -> None:
        code = error.code
        if code == ErrorCode.UNAUTHORIZED:
            raise UplinkAuthError(401, "an error frame")
        oldest = self.frames[0].ids if self.frames else []
        if error.index is not None or error.event_id is not None:
            target = _error_target(error, oldest)
            if target is None and error.event_id in self.in_flight:
                target = error.event_id
            if target is None:
                log.warning("error frame (%s) names no event in flight; ignored", code)
                return
            await self.uplink._dead_letter(target, f"{code}: {error.message}")
            self.in_flight.discard(target)
        elif code in (ErrorCode.TOO_LARGE, ErrorCode.TOO_MANY_EVENTS):
            if len(oldest) == 1:
                await self.uplink._dead_letter(oldest[0], f"{code}: {error.message}")
                self.in_flight.discard(oldest[0])
            self.batch_size = max(1, min(self.batch_size, len(oldest) or self.batch_size) // 2)
            log.warning("server said %s; batches now at most %d events", code, self.batch_size)
        elif code == ErrorCode.RATE_LIMITED:
            self.paused_until = time.monotonic() + RATE_LIMIT_PAUSE_S
            log.warning("server said rate_limited; pausing %.0f s", RATE_LIMIT_PAUSE_S)
        else:
            log.warning("server error frame: %s", code)

    def abort_if_silent(self, *, since: float) -> None:
        """A panic stored at ``since`` is overdue: give up this connection if nothing came
        back on it since then and it has been open a full deadline (a fresh one gets its
        chance)."""
        now = time.monotonic()
        if self._dead.done() or now - self.opened_at < self.settings.panic_ack_deadline_s:
            return
        if self.last_heard >= since:
            return
        self.uplink.state.sockets_aborted += 1
        self._dead.set_exception(
            _LinkDead(
                f"no ack within {self.settings.panic_ack_deadline_s:g} s for a pending emergency"
            )
        )

    async def _keepalive(self) -> None:
        settings = self.settings
        while True:
            await asyncio.sleep(settings.ping_interval_s)
            pong = await self.ws.ping()
            try:
                await asyncio.wait_for(pong, timeout=settings.ping_timeout_s)
            except TimeoutError:
                raise _LinkDead(
                    f"no answer to a keepalive ping within {settings.ping_timeout_s:g} s"
                ) from None
            self.last_heard = time.monotonic()

    async def _watchdog(self) -> None:
        timeout = self.settings.ack_timeout_s
        while True:
            await asyncio.sleep(min(1.0, timeout / 4))
            if self.frames and time.monotonic() - self.frames[0].sent_at > timeout:
                raise _AckTimeout
