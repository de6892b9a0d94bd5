"""Vendor-specific (non-SIG) device protocols, one module per vendor family."""

from device_agent.gatt.vendor import berrymed

__all__ = ["berrymed"]
