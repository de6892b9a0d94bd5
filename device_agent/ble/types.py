"""Small types the BLE side shares with the rest of the agent.

A device is the configuration's ``BleDeviceSpec`` (one definition for both); health goes to
any ``HealthReporter`` (the hub's ``HubHealth`` in the agent, a recorder in tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bleak import BleakScanner
from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner

from device_agent.config import BleDeviceSpec, DeviceKind

__all__ = [
    "PLATFORM_BACKEND",
    "BleBackend",
    "BleDeviceSpec",
    "DeviceKind",
    "HealthReporter",
    "scanner_args",
]


class HealthReporter(Protocol):
    """Where drivers report whether their peripheral is reachable (read by the heartbeat)."""

    def update(
        self,
        device: str,
        *,
        reachable: bool,
        battery: int | None = None,
        problem: str | None = None,
    ) -> None: ...


@dataclass(frozen=True)
class BleBackend:
    """Which bleak backend classes to use; ``None`` means bleak's platform default."""

    scanner: type[BaseBleakScanner] | None = None
    client: type[BaseBleakClient] | None = None


PLATFORM_BACKEND = BleBackend()


def scanner_args(backend: BleBackend) -> BleakScanner.ExtraArgs:
    """Keyword arguments selecting ``backend``'s scanner for bleak's convenience methods."""
    args: BleakScanner.ExtraArgs = {}
    if backend.scanner is not None:
        args["backend"] = backend.scanner
    return args
