"""Is there a Bluetooth adapter to use? Asked once before scanning or running devices, so a
hub without one says so in a sentence a person can act on, instead of a driver traceback
every few seconds.

Only the platform stack (BlueZ on the hub) is checked; a simulated radio is always there.
"""

from __future__ import annotations

import asyncio
import logging

from bleak import BleakScanner
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
    BleakError,
)

from device_agent.ble.types import PLATFORM_BACKEND, BleBackend

logger = logging.getLogger(__name__)

CHECK_TIMEOUT = 10.0

_NOT_AVAILABLE = {
    BleakBluetoothNotAvailableReason.NO_BLUETOOTH: (
        "no Bluetooth adapter found: plug in the USB Bluetooth dongle (or enable the built-in "
        "one); `bluetoothctl list` must show a controller"
    ),
    BleakBluetoothNotAvailableReason.NO_BLE_CENTRAL_ROLE: (
        "the Bluetooth adapter cannot act as a BLE central: use a Bluetooth 4.0+ (LE) adapter"
    ),
    BleakBluetoothNotAvailableReason.POWERED_OFF: (
        "the Bluetooth adapter is switched off: run `bluetoothctl power on` "
        "(and `rfkill unblock bluetooth` if it is blocked)"
    ),
}
_DENIED = (
    "the system refused access to Bluetooth: run the agent as a user in the `bluetooth` group "
    "(or as its systemd service)"
)


class AdapterUnavailable(Exception):
    """No usable Bluetooth adapter; the message says what a person should do."""


def describe(exc: BaseException) -> str:
    """A person's explanation of why the platform Bluetooth stack cannot be used."""
    if isinstance(exc, BleakBluetoothNotAvailableError):
        return _NOT_AVAILABLE.get(exc.reason, _DENIED if "DENIED" in exc.reason.name else str(exc))
    if isinstance(exc, BleakDBusError):
        if exc.dbus_error in {
            "org.freedesktop.DBus.Error.ServiceUnknown",
            "org.freedesktop.DBus.Error.NameHasNoOwner",
        }:
            return (
                "the Bluetooth service (BlueZ) is not running: "
                "`sudo systemctl enable --now bluetooth`"
            )
        if exc.dbus_error == "org.freedesktop.DBus.Error.AccessDenied":
            return _DENIED
        return f"Bluetooth (BlueZ) refused: {exc.dbus_error}"
    if isinstance(exc, PermissionError):
        return _DENIED
    if isinstance(exc, (FileNotFoundError, ConnectionRefusedError)):
        return (
            "no Bluetooth stack on this machine: the system D-Bus, through which BlueZ is "
            "reached, is not running (on the hub: `sudo systemctl status dbus bluetooth`)"
        )
    if isinstance(exc, TimeoutError):
        return f"the Bluetooth adapter did not answer within {CHECK_TIMEOUT:.0f} s"
    if isinstance(exc, BleakError):
        return f"Bluetooth is not usable: {exc}"
    return f"Bluetooth is not usable: {type(exc).__name__}: {exc}"


async def check_adapter(backend: BleBackend | None = None) -> None:
    """Raise ``AdapterUnavailable`` if the platform Bluetooth stack cannot scan."""
    backend = backend or PLATFORM_BACKEND
    if backend.scanner is not None:
        return  # a simulated radio
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            scanner = BleakScanner()
            await scanner.start()
            await scanner.stop()
    except (BleakError, OSError, TimeoutError) as exc:
        logger.debug("Bluetooth adapter check failed", exc_info=True)
        raise AdapterUnavailable(describe(exc)) from exc
