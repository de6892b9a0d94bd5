"""Pure parsers for the bytes BLE health devices and buttons send. No I/O in here.

Every parser takes bytes and returns a frozen dataclass (or raises ``ParseError``, a
``ValueError`` naming the field and byte offset; nothing else escapes). Small encoders build
the same bytes for simulated peripherals.
"""

from device_agent.gatt import (
    battery,
    blood_pressure,
    bthome,
    buttons,
    date_time,
    device_info,
    glucose,
    pulse_oximeter,
    racp,
    sfloat,
    vendor,
)
from device_agent.gatt.errors import ParseError

__all__ = [
    "ParseError",
    "battery",
    "blood_pressure",
    "bthome",
    "buttons",
    "date_time",
    "device_info",
    "glucose",
    "pulse_oximeter",
    "racp",
    "sfloat",
    "vendor",
]
