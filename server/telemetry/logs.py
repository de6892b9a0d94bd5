"""Structured JSON logs (ELDERCARE_LOG_FORMAT=json): one object per line with the request id
and the user id of the request that logged it. Only ids travel in these fields; log messages
name records by id and never carry readings, names or notes (health data stays out of logs).
"""

from __future__ import annotations

import json
import logging
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

from starlette.types import ASGIApp, Receive, Scope, Send

from server.telemetry.config import LogSettings

REQUEST_ID: ContextVar[str | None] = ContextVar("eldercare_request_id", default=None)
USER_ID: ContextVar[str | None] = ContextVar("eldercare_user_id", default=None)


def set_user(user_id: uuid.UUID | None) -> None:
    USER_ID.set(str(user_id) if user_id else None)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id, user_id = REQUEST_ID.get(), USER_ID.get()
        if request_id:
            entry["request_id"] = request_id
        if user_id:
            entry["user_id"] = user_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(settings: LogSettings | None = None) -> None:
    """Switches the root handlers to JSON when asked; text stays the default."""
    settings = settings or LogSettings()
    root = logging.getLogger()
    root.setLevel(settings.level.upper())
    if settings.format != "json":
        return
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    for handler in root.handlers:
        handler.setFormatter(JsonFormatter())
    # uvicorn's loggers carry their own handlers: send them through the root's.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True


class RequestIdMiddleware:
    """Gives each request its id before anything logs (and passes it on as X-Request-ID)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = list(scope.get("headers") or [])
        given = next((v for k, v in headers if k == b"x-request-id"), b"")
        rid = given.decode("latin-1")[:64] or uuid.uuid4().hex
        if not given:
            headers.append((b"x-request-id", rid.encode("latin-1")))
            scope = {**scope, "headers": headers}
        request_token = REQUEST_ID.set(rid)
        user_token = USER_ID.set(None)
        try:
            await self.app(scope, receive, send)
        finally:
            REQUEST_ID.reset(request_token)
            USER_ID.reset(user_token)
