"""What the hub can and cannot reach: a small registry drivers update and heartbeats read.

BLE drivers call ``seen``/``unreachable``/``battery``/``adapter``; nothing here does I/O.
``heartbeat_loop`` turns a snapshot into a ``HeartbeatEvent`` every N seconds and hands it to
the sink like any other event, so heartbeats queue and survive outages too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from uuid import uuid4

from device_agent.clock import utc_now
from device_agent.sink import EventSink
from eldercare_protocol import DeviceHealth, HeartbeatEvent, HeartbeatPayload

log = logging.getLogger(__name__)

MAX_DEVICES_IN_HEARTBEAT = 32


def _agent_version() -> str:
    try:
        return version("eldercare")[:32]
    except PackageNotFoundError:
        return "0+unknown"


AGENT_VERSION = _agent_version()


@dataclass(slots=True)
class _DeviceState:
    # Reached over Bluetooth: unreachable whenever the adapter is.
    ble: bool
    reachable: bool = False
    battery: int | None = None
    last_seen: datetime | None = None
    problem: str | None = "not seen yet"


class HubHealth:
    """Mutable per-device health, keyed by the id events carry in ``device``.

    Satisfies the BLE drivers' ``HealthReporter``: everything that can reach a device, BLE
    or wired, reports through ``update``. Single event loop: no locking needed.
    """

    def __init__(self, *, ble: list[str] | None = None, wired: list[str] | None = None) -> None:
        self._devices: dict[str, _DeviceState] = {}
        self.adapter_ok = True
        self.adapter_problem: str | None = None
        # Whether a spoken prompt can be played (None: not known yet).
        self.speaker_ok: bool | None = None
        for device in ble or []:
            self.register(device, ble=True)
        for device in wired or []:
            self.register(device, ble=False)

    def register(self, device: str, *, ble: bool) -> None:
        self._devices.setdefault(device, _DeviceState(ble=ble))

    def update(
        self,
        device: str,
        *,
        reachable: bool,
        battery: int | None = None,
        problem: str | None = None,
    ) -> None:
        """What a driver last learned: reachable or not, battery if it read one, and the
        problem needing a person (``None`` clears it)."""
        state = self._devices.setdefault(device, _DeviceState(ble=True))
        state.reachable = reachable
        if reachable:
            state.last_seen = utc_now()
            state.problem = problem[:200] if problem else None
        else:
            state.problem = (problem or "out of range")[:200]
        if battery is not None:
            state.battery = max(0, min(100, battery))

    def adapter(self, *, ok: bool, problem: str | None = None) -> None:
        self.adapter_ok = ok
        self.adapter_problem = None if ok else (problem or "bluetooth adapter missing")[:200]

    def snapshot(self) -> list[DeviceHealth]:
        out = []
        for name, state in sorted(self._devices.items())[:MAX_DEVICES_IN_HEARTBEAT]:
            adapter_down = state.ble and not self.adapter_ok
            out.append(
                DeviceHealth(
                    device=name,
                    reachable=state.reachable and not adapter_down,
                    battery=state.battery,
                    last_seen=state.last_seen,
                    problem=self.adapter_problem if adapter_down else state.problem,
                )
            )
        return out


def heartbeat_event(
    *,
    device: str,
    started_monotonic: float,
    outbox_depth: int,
    adapter_ok: bool,
    devices: list[DeviceHealth],
    speaker_ok: bool | None = None,
    storage_problem: str | None = None,
) -> HeartbeatEvent:
    return HeartbeatEvent(
        id=uuid4(),
        device=device,
        occurred_at=utc_now(),
        payload=HeartbeatPayload(
            agent_version=AGENT_VERSION,
            uptime_s=max(0.0, time.monotonic() - started_monotonic),
            outbox_depth=outbox_depth,
            adapter_ok=adapter_ok,
            speaker_ok=speaker_ok,
            devices=devices[:MAX_DEVICES_IN_HEARTBEAT],
            storage_problem=storage_problem,
        ),
    )


async def heartbeat_loop(
    *,
    sink: EventSink,
    interval_s: float,
    outbox_depth: Callable[[], Awaitable[int]],
    health: HubHealth,
    hub_device: str = "hub",
    started_monotonic: float | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    storage_problem: Callable[[], str | None] = lambda: None,
) -> None:
    """Emit a heartbeat at once and then every ``interval_s`` seconds, forever.

    ``sleep`` is how it waits between heartbeats (tests step it by hand);
    ``storage_problem`` reads the outbox's disk state (``Outbox.storage_problem``).
    """
    started = started_monotonic if started_monotonic is not None else time.monotonic()
    while True:
        event = heartbeat_event(
            device=hub_device,
            started_monotonic=started,
            outbox_depth=await outbox_depth(),
            adapter_ok=health.adapter_ok,
            devices=health.snapshot(),
            speaker_ok=health.speaker_ok,
            storage_problem=storage_problem(),
        )
        await sink.emit(event)
        log.debug("heartbeat %s queued (outbox depth %d)", event.id, event.payload.outbox_depth)
        await sleep(interval_s)
