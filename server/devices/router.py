"""The agent endpoints: one WebSocket per hub, and the same batches over HTTP.

Hub tokens work here and nowhere else (user endpoints do not accept them, and these do not
accept user tokens). Handlers are thin: `Ingestor` does the work.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse, Response
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.websockets import WebSocketDisconnect

from eldercare_protocol import HTTP_EVENTS_PATH, WS_PATH, AckMessage, ErrorCode, ErrorMessage
from server.auth.service import HubIdentity, authenticate_hub, user_from_token
from server.common.time import utcnow
from server.config import Settings
from server.devices.config import DevicesSettings
from server.devices.ingest import Ingestor
from server.devices.supervision import check_missed_checkins
from server.errors import ApiError

log = logging.getLogger(__name__)


async def _supervision_loop(engine: Engine, settings: DevicesSettings) -> None:
    def tick() -> int:
        with Session(engine, expire_on_commit=False) as session:
            return check_missed_checkins(session, now=utcnow(), settings=settings)

    while True:
        await asyncio.sleep(settings.supervision_interval_seconds)
        try:
            await anyio.to_thread.run_sync(tick)
        except Exception:  # the next tick tries again; one failure must not stop supervision
            log.exception("missed check-in supervision failed")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: DevicesSettings = getattr(app.state, "devices_settings", None) or DevicesSettings()
    app.state.devices_settings = settings
    ingestor = Ingestor(app.state.engine, settings)
    ingestor.start()
    app.state.ingestor = ingestor
    supervision = asyncio.create_task(
        _supervision_loop(app.state.engine, settings), name="hub-supervision"
    )
    try:
        yield
    finally:
        supervision.cancel()
        with suppress(asyncio.CancelledError):
            await supervision
        await ingestor.stop()


router = APIRouter(tags=["agent"], lifespan=lifespan)


def identify_hub(
    engine: Engine, settings: Settings, authorization: str | None
) -> tuple[HubIdentity | None, int, str]:
    """The hub a request speaks for, or (None, HTTP status, reason)."""
    with Session(engine) as session:
        hub = authenticate_hub(session, authorization)
        if hub is not None:
            if hub.elder_id is None:
                return None, 403, "this hub is not assigned to an elder; ask an administrator"
            return hub, 200, ""
        header = authorization or ""
        if header.lower().startswith("bearer ") and user_from_token(
            session, header[7:].strip(), settings=settings
        ):
            return None, 403, "the agent endpoints take a hub token, not a person's token"
    return None, 401, "hub token missing, wrong or revoked"


async def require_hub(request: Request) -> HubIdentity:
    hub, status, reason = await anyio.to_thread.run_sync(
        identify_hub,
        request.app.state.engine,
        request.app.state.settings,
        request.headers.get("authorization"),
    )
    if hub is None:
        code = "unauthorized" if status == 401 else "forbidden"
        raise ApiError(status, code, f"devices.auth.{code}", extra={"reason": reason})
    return hub


HubDep = Annotated[HubIdentity, Depends(require_hub)]


@router.post(
    HTTP_EVENTS_PATH,
    response_model=AckMessage,
    responses={
        400: {"model": ErrorMessage, "description": "malformed or invalid message"},
        413: {"model": ErrorMessage, "description": "message too large"},
        429: {"model": AckMessage, "description": "rate limited (urgent events still stored)"},
    },
    summary="A hub's batch of events (the WebSocket's HTTP fallback)",
)
async def post_events(request: Request, hub: HubDep) -> Response:
    ingestor: Ingestor = request.app.state.ingestor
    data = await request.body()
    try:
        reply = await ingestor.handle(hub, data)
    except Exception:
        log.exception("HTTP batch from hub %s not stored", hub.device_id)
        return JSONResponse(
            {"type": "error", "code": "unavailable", "message": "not stored; send again"},
            status_code=503,
        )
    if reply.status in (400, 413):
        return Response(reply.errors[0].model_dump_json(), status_code=reply.status,
                        media_type="application/json")  # fmt: skip
    headers = {}
    if reply.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(reply.retry_after + 0.499)))
    return Response(
        reply.ack(with_errors=True).model_dump_json(),
        status_code=reply.status,
        headers=headers,
        media_type="application/json",
    )


@router.websocket(WS_PATH)
async def agent_socket(websocket: WebSocket) -> None:
    app = websocket.app
    engine: Engine = app.state.engine
    settings: DevicesSettings = app.state.devices_settings
    authorization = websocket.headers.get("authorization")
    hub, status, reason = await anyio.to_thread.run_sync(
        identify_hub, engine, app.state.settings, authorization
    )
    if hub is None:
        await _deny(websocket, status, reason)
        return
    ingestor: Ingestor = app.state.ingestor
    await websocket.accept()
    checked = time.monotonic()
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            data: str | bytes = text if text is not None else (message.get("bytes") or b"")
            if time.monotonic() - checked > settings.token_recheck_seconds:
                again, _, _ = await anyio.to_thread.run_sync(
                    identify_hub, engine, app.state.settings, authorization
                )
                if again is None:
                    error = ErrorMessage(code=ErrorCode.UNAUTHORIZED, message="hub token revoked")
                    await websocket.send_text(error.model_dump_json())
                    await websocket.close(code=1008, reason="hub token revoked")
                    return
                checked = time.monotonic()
            try:
                reply = await ingestor.handle(hub, data)
            except Exception:
                log.exception("message from hub %s not stored", hub.device_id)
                await websocket.close(code=1011, reason="events not stored; reconnect and resend")
                return
            for error in reply.errors:
                await websocket.send_text(error.model_dump_json())
            await websocket.send_text(reply.ack().model_dump_json(exclude={"errors"}))
    except WebSocketDisconnect:
        return


async def _deny(websocket: WebSocket, status: int, reason: str) -> None:
    body = ErrorMessage(
        code=ErrorCode.UNAUTHORIZED if status == 401 else ErrorCode.FORBIDDEN_DEVICE, message=reason
    )
    response = Response(body.model_dump_json(), status_code=status, media_type="application/json")
    try:
        await websocket.send_denial_response(response)
    except RuntimeError:
        # The server cannot send an HTTP answer to a WebSocket handshake: close with the reason.
        await websocket.close(code=1008, reason=reason)
