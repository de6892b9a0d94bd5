"""Small in-test servers speaking the agent protocol over loopback.

``FakeWsServer`` is a real WebSocket server (websockets.asyncio.server): it validates events
with the shared protocol, stores them by id (so duplicates are counted, not stored twice),
acks after "commit", and can refuse the handshake, reject chosen ids with error frames, send
garbage frames and be stopped and started again on the same port.

``FakeHttpServer`` is a minimal HTTP/1.1 server on ``asyncio.start_server``: it refuses every
WebSocket upgrade (like a proxy that blocks WebSockets) and serves the batch endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from eldercare_protocol import (
    EVENT_ADAPTER,
    HTTP_EVENTS_PATH,
    MAX_MESSAGE_BYTES,
    AckMessage,
    ErrorCode,
    ErrorMessage,
    Event,
    parse_events_leniently,
)

TOKEN = "hub-token-for-tests"


@dataclass
class Store:
    """What the server "committed": each id once, in first-arrival order."""

    events: dict[str, Event] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    deliveries: Counter[str] = field(default_factory=Counter)
    reject_ids: set[str] = field(default_factory=set)
    batches: list[list[str]] = field(default_factory=list)

    def commit(self, raw_events: list[Any]) -> tuple[list[str], list[ErrorMessage]]:
        acked: list[str] = []
        errors: list[ErrorMessage] = []
        ids_in_batch: list[str] = []
        for index, raw in enumerate(raw_events):
            good, problems = parse_events_leniently([raw])
            if problems:
                errors.append(
                    ErrorMessage(
                        code=ErrorCode.INVALID_EVENT,
                        message=problems[0].message,
                        index=index,
                        event_id=problems[0].event_id,
                    )
                )
                continue
            event_id = str(good[0].id)
            ids_in_batch.append(event_id)
            self.deliveries[event_id] += 1
            if event_id in self.reject_ids:
                errors.append(
                    ErrorMessage(
                        code=ErrorCode.INVALID_EVENT,
                        message="rejected by the test",
                        index=index,
                        event_id=event_id,
                    )
                )
                continue
            if event_id not in self.events:
                self.events[event_id] = good[0]
                self.order.append(event_id)
            acked.append(event_id)
        self.batches.append(ids_in_batch)
        return acked, errors

    def kinds_in_order(self) -> list[str]:
        return [str(self.events[i].kind) for i in self.order]


class FakeWsServer:
    def __init__(self, *, token: str = TOKEN) -> None:
        self.token = token
        self.store = Store()
        self.refuse_status: int | None = None
        self.garbage_before_ack = False
        # Downlink messages sent (once) before the next ack; the hub's answers to them.
        self.downlinks_before_ack: list[str] = []
        self.downlink_acks: list[dict[str, Any]] = []
        self._acks_released = asyncio.Event()
        self._acks_released.set()
        self.handshakes = 0
        self.frames = 0
        self.port = 0
        self._server: Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def hold_acks(self) -> bool:
        return not self._acks_released.is_set()

    @hold_acks.setter
    def hold_acks(self, hold: bool) -> None:
        if hold:
            self._acks_released.clear()
        else:
            self._acks_released.set()

    async def start(self) -> None:
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            self.port,
            process_request=self._process_request,
            max_size=MAX_MESSAGE_BYTES,
        )
        self.port = self._server.sockets[0].getsockname()[1] if not self.port else self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        self.handshakes += 1
        if self.refuse_status is not None:
            return connection.respond(HTTPStatus(self.refuse_status), "refused by the test\n")
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return connection.respond(HTTPStatus.UNAUTHORIZED, "bad token\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self._serve(ws)

    async def _serve(self, ws: ServerConnection) -> None:
        async for raw in ws:
            self.frames += 1
            message = json.loads(raw)
            if message["type"] == "downlink_ack":
                self.downlink_acks.append(message)
                continue
            assert message["type"] == "events"
            acked, errors = self.store.commit(message["events"])
            for error in errors:
                await ws.send(error.model_dump_json())
            if self.garbage_before_ack:
                await ws.send("this is not JSON {")
                await ws.send('{"type": "surprise", "ids": []}')
                await ws.send('{"type": "ack", "ids": "not a list"}')
                await ws.send("[1, 2, 3]")
            for downlink in self.downlinks_before_ack:
                await ws.send(downlink)
            self.downlinks_before_ack = []
            await self._acks_released.wait()
            await ws.send(AckMessage(ids=acked).model_dump_json())  # type: ignore[arg-type]


class FakeHttpServer:
    """Refuses WebSocket upgrades with ``upgrade_status``; serves ``POST`` batches."""

    def __init__(self, *, token: str = TOKEN, upgrade_status: int = 502) -> None:
        self.token = token
        self.upgrade_status = upgrade_status
        self.store = Store()
        self.upgrade_attempts = 0
        self.posts = 0
        # Statuses to answer the next POSTs with before serving normally, e.g. [429].
        self.scripted: list[int] = []
        self.retry_after = "1"
        self.max_events: int | None = None  # more than this in one POST → 413
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, path, _ = request_line.split(" ", 2)
            headers = Headers()
            for line in header_lines:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip()] = value.strip()
            length = int(headers.get("Content-Length", "0"))
            body = await reader.readexactly(length) if length else b""
            status, extra, payload = self._respond(method, path, headers, body)
            reason = HTTPStatus(status).phrase
            lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(payload)}"]
            lines += [f"{k}: {v}" for k, v in extra.items()]
            lines += ["Content-Type: application/json", "Connection: close", "", ""]
            writer.write("\r\n".join(lines).encode() + payload)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def _respond(
        self, method: str, path: str, headers: Headers, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        if headers.get("Upgrade", "").lower() == "websocket":
            self.upgrade_attempts += 1
            return self.upgrade_status, {}, b'{"detail": "websockets blocked"}'
        if method != "POST" or path != HTTP_EVENTS_PATH:
            return 404, {}, b"{}"
        self.posts += 1
        if headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {}, b'{"detail": "bad token"}'
        if self.scripted:
            status = self.scripted.pop(0)
            extra = {"Retry-After": self.retry_after} if status == 429 else {}
            return status, extra, b"{}"
        message = json.loads(body)
        if self.max_events is not None and len(message["events"]) > self.max_events:
            return 413, {}, b'{"detail": "too large"}'
        acked, errors = self.store.commit(message["events"])
        ack = AckMessage(ids=acked, errors=errors)  # type: ignore[arg-type]
        return 200, {}, ack.model_dump_json().encode()


def parse_event(raw: str) -> Event:
    return EVENT_ADAPTER.validate_json(raw)
