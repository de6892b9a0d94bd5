from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from device_agent.ble import Timing
from eldercare_protocol import Event

# Everything small: adverts come every 100 ms on the simulated link.
FAST = Timing(
    scan_timeout=1.0,
    connect_timeout=2.0,
    retry_initial=0.2,
    retry_max=1.0,
    pairing_retry=30.0,
    poll_interval=0.2,
    idle_timeout=0.4,
    stream_window=0.5,
)


class MemorySink:
    """An in-memory EventSink: durable enough for a test run."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Event()

    async def emit(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()

    def of_kind(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]

    async def wait_for(
        self, predicate: Callable[[list[Event]], bool], *, within: float = 10.0
    ) -> list[Event]:
        async with asyncio.timeout(within):
            while not predicate(self.events):
                self._changed.clear()
                await self._changed.wait()
        return self.events


@dataclass
class HealthUpdate:
    device: str
    reachable: bool
    battery: int | None
    problem: str | None


class MemoryHealth:
    def __init__(self) -> None:
        self.updates: list[HealthUpdate] = []

    def update(
        self,
        device: str,
        *,
        reachable: bool,
        battery: int | None = None,
        problem: str | None = None,
    ) -> None:
        self.updates.append(HealthUpdate(device, reachable, battery, problem))


@pytest.fixture
def sink() -> MemorySink:
    return MemorySink()


@pytest.fixture
def health() -> MemoryHealth:
    return MemoryHealth()
