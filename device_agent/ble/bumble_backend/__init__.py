"""A bleak backend on Google's bumble: the agent's real bleak code, run against simulated
peripherals on an in-memory link instead of a radio.

    radio = BumbleRadio(link)
    backend = radio.backend()
    BleakScanner(backend=backend.scanner); BleakClient(address, backend=backend.client)
"""

from device_agent.ble.bumble_backend.compat import patch_bumble
from device_agent.ble.bumble_backend.radio import BumbleDeviceDetails, BumbleRadio, HubController

# Before any bumble device exists: see compat.py (a lost cancellation hung the simulated hub).
patch_bumble()

__all__ = ["BumbleDeviceDetails", "BumbleRadio", "HubController"]
