"""Small types the BLE side shares with the rest of the agent.

The agent's configuration and health registry live elsewhere; these are the narrow shapes
this package needs from them, so joining the two is a small adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from bleak import BleakScanner
from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner


class DeviceKind(StrEnum):
    BLOOD_PRESSURE = "bp"
    OXIMETER = "oximeter"
    GLUCOSE = "glucose"
    BTHOME_BUTTON = "bthome_button"
    ITAG_BUTTON = "itag_button"
    LOCAL_BUTTON = "local_button"


@dataclass(frozen=True)
class BleDeviceSpec:
    """One configured peripheral."""

    name: str
    kind: DeviceKind
    address: str
    # BTHome encryption key (32 hex characters), if the button encrypts its adverts.
    bind_key: str | None = None
    # Force a driver by its registry name instead of choosing by advert.
    driver: str | None = None
    # Driver-specific settings (e.g. the BTHome test pattern); small and JSON-safe.
    options: dict[str, str | int | float | bool] = field(default_factory=dict)

    @property
    def device_id(self) -> str:
        """What events carry in ``device``: the BLE address, upper-case."""
        return self.address.upper()


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
