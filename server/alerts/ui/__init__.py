"""The dispatch console: one page, live over a WebSocket.

The socket sends `snapshot` (the whole queue, in console order) when it opens and when changes
may have been missed; after that, `changes`: the changed alerts still open and the ids of
those that left the queue (`closed`). The page merges them and keeps the same order.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from urllib.parse import urlparse

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from server.alerts.config import alert_settings
from server.alerts.router import DISPATCH_ROLES, Dispatcher
from server.alerts.ui.feed import Console, feed_for, snapshot
from server.auth.models import Role, User
from server.auth.service import user_from_token
from server.common.time import utcnow
from server.config import Settings
from server.deps import HandlerRoute
from server.errors import DATABASE_RETRY_AFTER_S, database_down
from server.i18n import Locale, catalogue, normalise_locale
from server.web import LANG_COOKIE, register_nav, render

log = logging.getLogger(__name__)
router = APIRouter(route_class=HandlerRoute, include_in_schema=False)
register_nav("/console", "alerts.nav.console", {Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN})

# The server speaks at least this often, so a console can tell "quiet" from "dead".
HEARTBEAT_SECONDS = 5.0
# How often an open console checks its person is still allowed (deactivated, logged out,
# role changed): then it closes with 1008 (policy violation).
RECHECK_SECONDS = 15.0


def _strings(locale: Locale) -> dict[str, str]:
    # The disclaimer is triage's own text: one wording wherever a result is shown.
    return {
        k: v
        for k, v in catalogue(locale).items()
        if k.startswith("alerts.") or k == "triage.decision_support"
    }


@router.get("/console", response_class=HTMLResponse)
def console_page(request: Request, user: Dispatcher) -> Response:
    locale: Locale = request.state.locale
    return render(
        request,
        "console.html",
        strings=_strings(locale),
        target_minutes=alert_settings().policy.target_minutes,
        time_zone=request.app.state.settings.display_timezone,
        role=user.role.value,
        phone_escalation=request.app.state.settings.phone_escalation,
    )


def _still_allowed(engine: Engine, cookie: str | None, settings: Settings) -> bool:
    user = _user_for(engine, cookie, settings)
    return user is not None and user.role in DISPATCH_ROLES


def _user_for(engine: Engine, cookie: str | None, settings: Settings) -> User | None:
    if not cookie:
        return None
    with Session(engine, expire_on_commit=False) as session:
        return user_from_token(session, cookie, settings=settings, purpose="session")


def _same_origin(websocket: WebSocket) -> bool:
    # Browsers send cookies on cross-site WebSocket handshakes; only our own pages may connect.
    origin = websocket.headers.get("origin")
    return origin is None or urlparse(origin).netloc == websocket.headers.get("host")


async def _refuse(websocket: WebSocket, status: int, reason: str) -> None:
    """Refuse the handshake with an HTTP answer: a close before accepting reaches the client
    as a bare 403 whatever its code, so a page could not tell "log in again" from "no"."""
    headers = {"Cache-Control": "no-store"}
    if status == 503:
        headers["Retry-After"] = str(DATABASE_RETRY_AFTER_S)
    await websocket.send_denial_response(
        JSONResponse({"detail": reason}, status_code=status, headers=headers)
    )


@router.websocket("/api/v1/console/ws")
async def console_ws(websocket: WebSocket) -> None:
    app = websocket.app
    settings: Settings = app.state.settings
    engine: Engine = app.state.engine
    if not _same_origin(websocket):
        await _refuse(websocket, 403, "cross_origin")
        return
    cookie = websocket.cookies.get(settings.session_cookie)
    try:
        user = await run_in_threadpool(_user_for, engine, cookie, settings)
    except OperationalError as exc:
        # The database restarting: the page connects again on its own (it retries every
        # refusal within 5 s), so 503 and one log line, not a traceback.
        log.warning("console refused, database unavailable: %s", database_down(exc))
        await _refuse(websocket, 503, "database_unavailable")
        return
    if user is None:
        await _refuse(websocket, 401, "login_required")
        return
    if user.role not in DISPATCH_ROLES:
        await _refuse(websocket, 403, "not_a_dispatcher")
        return
    locale: Locale = (
        normalise_locale(websocket.query_params.get("lang"))
        or normalise_locale(websocket.cookies.get(LANG_COOKIE))
        or normalise_locale(user.locale)
        or settings.default_locale
    )
    await websocket.accept()
    feed = feed_for(engine)
    console = Console(user=user, locale=locale)
    feed.join(console)
    reader = asyncio.create_task(_drain_client(websocket))
    checked = time.monotonic()
    try:
        while not reader.done():
            if time.monotonic() - checked >= RECHECK_SECONDS:
                if not await run_in_threadpool(_still_allowed, engine, cookie, settings):
                    await websocket.close(code=1008)
                    return
                checked = time.monotonic()
            if console.resync:
                console.resync = False
                console.frames.clear()
                text, shown = await run_in_threadpool(
                    functools.partial(snapshot, engine, locale=locale, user=user)
                )
                feed.snapshot_shown(console, shown)
                await websocket.send_text(text)
            elif console.frames:
                await websocket.send_text(console.frames.popleft())
            elif not await console.wait(seconds=min(HEARTBEAT_SECONDS, RECHECK_SECONDS)):
                await websocket.send_text(
                    json.dumps({"type": "heartbeat", "now": utcnow().isoformat()})
                )
    except (WebSocketDisconnect, RuntimeError):
        pass
    except OperationalError as exc:
        # Mid-session: close with "try again later"; the page reconnects and gets a fresh
        # snapshot once the database answers, so nothing shown is stale.
        log.warning("console closed, database unavailable: %s", database_down(exc))
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await websocket.close(code=1013)
    finally:
        await feed.leave(console)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader


async def _drain_client(websocket: WebSocket) -> None:
    """Reads (and ignores) what the console sends, so a closed socket is noticed."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.receive_text()
