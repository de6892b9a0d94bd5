"""The agent endpoints (one WebSocket per hub, and the same batches over HTTP) and the
administrators' device and hub-token API.

Hub tokens work on the agent endpoints and nowhere else (user endpoints do not accept them,
and these do not accept user tokens). Handlers are thin: `Ingestor` and `service` do the work.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, Request, WebSocket
from fastapi.responses import JSONResponse, Response
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session
from starlette.requests import ClientDisconnect
from starlette.websockets import WebSocketDisconnect

from eldercare_protocol import HTTP_EVENTS_PATH, WS_PATH, AckMessage, ErrorCode, ErrorMessage
from server.auth.models import Role, User
from server.auth.service import user_from_token
from server.config import Settings
from server.deps import AdminUser, HandlerRoute, RequestId, SessionDep, require_roles
from server.devices import downlink, service
from server.devices.config import DevicesSettings
from server.devices.ingest import Ingestor
from server.devices.models import DeviceKind
from server.devices.schemas import DeviceIn, DeviceOut, HubTokenOut
from server.devices.service import HubIdentity, authenticate_hub
from server.errors import DATABASE_RETRY_AFTER_S, ApiError, database_down

log = logging.getLogger(__name__)
# The answer to a hub when the server cannot store or check anything now: send again.
UNAVAILABLE = {"type": "error", "code": "unavailable"}


router = APIRouter(route_class=HandlerRoute, tags=["agent"])


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
    try:
        data = await request.body()
    except (ClientDisconnect, ConnectionError):
        # Routine on 4G: the hub dropped mid-upload. Nothing was stored or acked, so it
        # sends the batch again; not a server error.
        log.info("hub %s went away during its HTTP batch; nothing stored", hub.device_id)
        return Response(status_code=400)
    try:
        reply = await ingestor.handle(hub, data)
    except Exception:
        log.exception("HTTP batch from hub %s not stored", hub.device_id)
        return JSONResponse(UNAVAILABLE | {"message": "not stored; send again"}, status_code=503)
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
    authorization = websocket.headers.get("authorization")
    try:
        hub, status, reason = await anyio.to_thread.run_sync(
            identify_hub, engine, app.state.settings, authorization
        )
    except OperationalError as exc:
        # The database restarting is not a fault of the hub's: 503 and when to come back (the
        # agent retries any refusal but 401/403), as the HTTP path answers; not a traceback.
        log.warning("hub handshake refused, database unavailable: %s", database_down(exc))
        await _deny(websocket, 503, "database unavailable; connect again shortly")
        return
    if hub is None:
        await _deny(websocket, status, reason)
        return
    settings: DevicesSettings = app.state.devices_settings
    ingestor: Ingestor = app.state.ingestor
    await websocket.accept()
    checked = time.monotonic()
    # Two writers (answers to events, downlinks): one frame at a time on the socket.
    sending = asyncio.Lock()

    async def send(text: str) -> None:
        async with sending:
            await websocket.send_text(text)

    relay: downlink.DownlinkRelay = app.state.downlinks
    ready = relay.connect(hub.device_id)
    pump = asyncio.create_task(
        downlink.pump(engine, hub.device_id, ready, send), name="hub-downlink-pump"
    )
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            data: str | bytes = text if text is not None else (message.get("bytes") or b"")
            if time.monotonic() - checked > settings.token_recheck_seconds:
                try:
                    again, _, _ = await anyio.to_thread.run_sync(
                        identify_hub, engine, app.state.settings, authorization
                    )
                except OperationalError:
                    again = hub  # the database is restarting: check again with the next message
                    checked = time.monotonic() - settings.token_recheck_seconds
                if again is None:
                    error = ErrorMessage(code=ErrorCode.UNAUTHORIZED, message="hub token revoked")
                    await send(error.model_dump_json())
                    await websocket.close(code=1008, reason="hub token revoked")
                    return
                checked = time.monotonic()
            if downlink.is_downlink_ack(data):
                # An answer to a downlink: no events, and no ack in reply (the hub pairs
                # acks with its events messages by order).
                ack = downlink.parse_ack(data)
                if ack is None:
                    log.warning("hub %s sent a malformed downlink_ack", hub.device_id)
                else:
                    await anyio.to_thread.run_sync(downlink.record_ack, engine, hub.device_id, ack)
                continue
            try:
                reply = await ingestor.handle(hub, data)
            except Exception:
                log.exception("message from hub %s not stored", hub.device_id)
                await websocket.close(code=1011, reason="events not stored; reconnect and resend")
                return
            for error in reply.errors:
                await send(error.model_dump_json())
            await send(reply.ack().model_dump_json(exclude={"errors"}))
    except WebSocketDisconnect:
        return
    finally:
        relay.disconnect(hub.device_id, ready)
        pump.cancel()
        # A pump that failed to send on a socket that was closing ends with it.
        await asyncio.gather(pump, return_exceptions=True)


async def _deny(websocket: WebSocket, status: int, reason: str) -> None:
    headers: dict[str, str] = {}
    if status == 503:
        text = json.dumps(UNAVAILABLE | {"message": reason})
        headers["Retry-After"] = str(DATABASE_RETRY_AFTER_S)
    else:
        code = ErrorCode.UNAUTHORIZED if status == 401 else ErrorCode.FORBIDDEN_DEVICE
        text = ErrorMessage(code=code, message=reason).model_dump_json()
    response = Response(text, status_code=status, headers=headers, media_type="application/json")
    try:
        await websocket.send_denial_response(response)
    except RuntimeError:
        # The server cannot send an HTTP answer to a WebSocket handshake: close with the reason
        # (1013: try again later).
        await websocket.close(code=1013 if status == 503 else 1008, reason=reason)


# --- devices and hub tokens (admins) ---------------------------------------------------

api = APIRouter(route_class=HandlerRoute, prefix="/api/v1", tags=["devices"])


@api.post("/elders/{elder_id}/devices", status_code=201)
def add_device(
    elder_id: uuid.UUID, body: DeviceIn, session: SessionDep, admin: AdminUser, rid: RequestId
) -> DeviceOut:
    device, _token = service.register_device(
        session, elder_id=elder_id, kind=body.kind, label=body.label, model=body.model,
        ble_address=body.ble_address, actor=admin, request_id=rid,
    )  # fmt: skip
    session.commit()
    return service.device_out(device)


@api.get("/devices")
def list_devices(
    session: SessionDep,
    _user: Annotated[User, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR))],
    kind: DeviceKind | None = None,
) -> list[DeviceOut]:
    return service.list_devices(session, kind=kind)


@api.post("/devices/{device_id}/hub-token", status_code=201)
def issue_hub_token(
    device_id: uuid.UUID, session: SessionDep, admin: AdminUser, rid: RequestId
) -> HubTokenOut:
    row, token = service.issue_hub_token(session, device_id=device_id, actor=admin, request_id=rid)
    session.commit()
    return HubTokenOut(id=row.id, device_id=row.device_id, prefix=row.prefix, token=token)


@api.post("/hub-tokens/{token_id}/revoke")
def revoke_hub_token(
    token_id: uuid.UUID, session: SessionDep, admin: AdminUser, rid: RequestId
) -> dict[str, str]:
    row = service.revoke_hub_token(session, token_id=token_id, actor=admin, request_id=rid)
    if row is None:
        raise ApiError(404, "not_found", "common.not_found")
    session.commit()
    return {"status": "revoked", "id": str(row.id)}
