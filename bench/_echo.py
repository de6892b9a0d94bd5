"""The ceiling for hub ingest: a bare uvicorn WebSocket on the agent path that reads each
events message as JSON and acks its ids at once. No database, no validation, no auth, so
`bench/ingest.py` can show what the stack costs on top of the socket and the JSON."""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect


async def agent_ws(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            message = json.loads(await websocket.receive_text())
            ids = [event["id"] for event in message["events"]]
            await websocket.send_text(json.dumps({"type": "ack", "ids": ids}))
    except WebSocketDisconnect:
        return


app = Starlette(routes=[WebSocketRoute("/api/v1/agent/ws", agent_ws)])
