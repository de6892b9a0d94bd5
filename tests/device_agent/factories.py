"""Small event builders for the agent tests."""

from __future__ import annotations

from uuid import uuid4

from device_agent.clock import utc_now, vitals_event
from eldercare_protocol import (
    FallEvent,
    FallPayload,
    Measurement,
    MeasurementCode,
    PanicEvent,
    PanicPayload,
    VitalsEvent,
)


def reading(value: float = 97.0, device: str = "oximeter") -> VitalsEvent:
    return vitals_event(
        device=device,
        measurements=[Measurement(code=MeasurementCode.SPO2, value=value, unit="%")],
    )


def panic(device: str = "button", *, test: bool = False) -> PanicEvent:
    return PanicEvent(
        id=uuid4(),
        device=device,
        occurred_at=utc_now(),
        payload=PanicPayload(source="simulated", test=test),
    )


def fall(device: str = "radar") -> FallEvent:
    return FallEvent(
        id=uuid4(), device=device, occurred_at=utc_now(), payload=FallPayload(source="radar")
    )
