"""Hub events for tests, as the wire contract's models (``*_event``) and as the JSON a hub
sends (``*_json``), so each event has one builder whatever form a test needs."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from device_agent.clock import vitals_event
from eldercare_protocol import (
    DeviceHealth,
    Event,
    FallEvent,
    FallPayload,
    HeartbeatEvent,
    HeartbeatPayload,
    Measurement,
    MeasurementCode,
    PanicEvent,
    PanicPayload,
    VitalsEvent,
    VitalsPayload,
)


def now() -> datetime:
    return datetime.now(UTC)


def minutes_ago(n: float) -> datetime:
    return now() - timedelta(minutes=n)


def panic_event(
    device: str = "button", *, test: bool = False, at: datetime | None = None
) -> PanicEvent:
    return PanicEvent(
        id=uuid.uuid4(),
        device=device,
        occurred_at=at or now(),
        payload=PanicPayload(source="simulated", test=test),
    )


def fall_event(device: str = "radar") -> FallEvent:
    return FallEvent(
        id=uuid.uuid4(), device=device, occurred_at=now(), payload=FallPayload(source="radar")
    )


def spo2_event(value: float = 97.0, device: str = "oximeter") -> VitalsEvent:
    return vitals_event(
        device=device,
        measurements=[Measurement(code=MeasurementCode.SPO2, value=value, unit="%")],
    )


def bp_reading_event(
    systolic: float = 128, diastolic: float = 80, pulse: float = 72, *, at: datetime | None = None
) -> VitalsEvent:
    return VitalsEvent(
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


def heartbeat_event(
    *, at: datetime | None = None, devices: list[DeviceHealth] | None = None
) -> HeartbeatEvent:
    return HeartbeatEvent(
        id=uuid.uuid4(),
        device="hub",
        occurred_at=at or now(),
        payload=HeartbeatPayload(
            agent_version="1.0", uptime_s=5, outbox_depth=0, devices=devices or []
        ),
    )


def as_json(event: Event) -> dict[str, Any]:
    """An event as it travels on the wire."""
    return event.model_dump(mode="json")


def panic_json(*, test: bool = False, at: datetime | None = None) -> dict[str, Any]:
    return as_json(panic_event(test=test, at=at))


def bp_reading_json(
    systolic: float = 128, diastolic: float = 80, pulse: float = 72, *, at: datetime | None = None
) -> dict[str, Any]:
    return as_json(bp_reading_event(systolic, diastolic, pulse, at=at))


def heartbeat_json(
    *, at: datetime | None = None, devices: list[DeviceHealth] | None = None
) -> dict[str, Any]:
    return as_json(heartbeat_event(at=at, devices=devices))


def events_message(*events: dict[str, Any]) -> str:
    return json.dumps({"type": "events", "events": list(events)})
