"""Registered hubs and a live ingest server, for tests of the hub side of the wire."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from sqlmodel import Session
from websockets.asyncio.client import ClientConnection

from server.devices.config import DevicesSettings
from server.devices.models import Device, DeviceKind
from server.devices.service import issue_hub_token
from server.elders.models import Elder
from tests.support.live import serve
from tests.support.records import make_elder

QUIET = {"supervision_interval_seconds": 3600.0, "rate_per_second": 100_000.0, "burst": 1_000_000}


@dataclass(frozen=True)
class Hub:
    elder: Elder
    device_id: uuid.UUID
    token: str
    token_id: uuid.UUID

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_hub(session: Session, *, elder: Elder | None = None, label: str = "hub") -> Hub:
    elder = elder or make_elder(session)
    device = Device(elder_id=elder.id, kind=DeviceKind.HUB, label=label)
    session.add(device)
    session.add(
        Device(elder_id=elder.id, kind=DeviceKind.BP_MONITOR, ble_address="AA:BB:CC:00:00:01")
    )
    session.commit()
    row, token = issue_hub_token(session, device_id=device.id, actor=None)
    session.commit()
    return Hub(elder=elder, device_id=device.id, token=token, token_id=row.id)


@contextmanager
def live_server(app: FastAPI, **overrides: Any) -> Iterator[str]:
    """A uvicorn server with these ingest settings; yields its ws:// base URL."""
    app.state.devices_settings = DevicesSettings(**{**QUIET, **overrides})
    with serve(app) as url:
        yield url.replace("http://", "ws://")


async def exchange(
    ws: ClientConnection, message: str | bytes
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Sends one message; returns the error frames that came before its ack, and the ack."""
    await ws.send(message)
    errors: list[dict[str, Any]] = []
    while True:
        frame = json.loads(await ws.recv())
        if frame["type"] == "ack":
            return errors, frame
        assert frame["type"] == "error", frame
        errors.append(frame)
