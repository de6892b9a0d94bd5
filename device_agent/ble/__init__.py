"""The hub's Bluetooth side: bleak drivers for health devices and panic buttons.

``scan`` lists what is around and which driver would take it; ``run_devices`` runs the
configured devices until cancelled. Both take ``backend=``: ``None`` for the platform's own
Bluetooth stack (BlueZ on the hub), or ``SimulatedHome.backend`` for simulated peripherals.
"""

from device_agent.ble.drivers.base import Timing
from device_agent.ble.manager import run_devices
from device_agent.ble.scan import ScanResult, scan
from device_agent.ble.types import BleBackend, BleDeviceSpec, DeviceKind, HealthReporter

__all__ = [
    "BleBackend",
    "BleDeviceSpec",
    "DeviceKind",
    "HealthReporter",
    "ScanResult",
    "Timing",
    "run_devices",
    "scan",
]
