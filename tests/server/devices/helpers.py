"""Hubs, events and a live server for the ingest tests."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlmodel import Session
from websockets.asyncio.client import ClientConnection

from device_agent.protocol import (
    DeviceHealth,
    HeartbeatEvent,
    HeartbeatPayload,
    Measurement,
    MeasurementCode,
    PanicEvent,
    PanicPayload,
    VitalsEvent,
    VitalsPayload,
)
from server.devices.config import DevicesSettings
from server.devices.models import Device, DeviceKind
from server.devices.service import issue_hub_token
from server.elders.models import Elder
from tests.server.factories import make_elder
from tests.support.live import serve

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


def now() -> datetime:
    return datetime.now(UTC)


def heartbeat(
    *, at: datetime | None = None, devices: list[DeviceHealth] | None = None
) -> dict[str, Any]:
    event = HeartbeatEvent(
        id=uuid.uuid4(),
        device="hub",
        occurred_at=at or now(),
        payload=HeartbeatPayload(
            agent_version="1.0", uptime_s=5, outbox_depth=0, devices=devices or []
        ),
    )
    return event.model_dump(mode="json")


def bp_reading(
    systolic: float = 128, diastolic: float = 80, pulse: float = 72, *, at: datetime | None = None
) -> dict[str, Any]:
    event = VitalsEvent(
        id=uuid.uuid4(),
        device="AA:BB:CC:00:00:01",
        occurred_at=at or now(),
        payload=VitalsPayload(
            measurements=[
                Measurement(code=MeasurementCode.SYSTOLIC, value=systolic, unit="mm[Hg]"),
                Measurement(code=MeasurementCode.DIASTOLIC, value=diastolic, unit="mm[Hg]"),
                Measurement(code=MeasurementCode.PULSE, value=pulse, unit="/min"),
            ],
            device_time=datetime(2000, 1, 1, 8, 0),
            device_clock_suspect=True,
            raw_hex="1e8000500060",
            characteristic="2a35",
        ),
    )
    return event.model_dump(mode="json")


def panic(*, test: bool = False, at: datetime | None = None) -> dict[str, Any]:
    event = PanicEvent(
        id=uuid.uuid4(),
        device="button",
        occurred_at=at or now(),
        payload=PanicPayload(source="simulated", test=test),
    )
    return event.model_dump(mode="json")


def events_message(*events: dict[str, Any]) -> str:
    return json.dumps({"type": "events", "events": list(events)})


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


def minutes_ago(n: float) -> datetime:
    return now() - timedelta(minutes=n)
