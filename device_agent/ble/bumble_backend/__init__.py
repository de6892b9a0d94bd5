"""A bleak backend on Google's bumble: the agent's real bleak code, run against simulated
peripherals on an in-memory link instead of a radio.

    radio = BumbleRadio(link)
    backend = radio.backend()
    BleakScanner(backend=backend.scanner); BleakClient(address, backend=backend.client)
"""

from device_agent.ble.bumble_backend.radio import BumbleDeviceDetails, BumbleRadio, HubController

__all__ = ["BumbleDeviceDetails", "BumbleRadio", "HubController"]
