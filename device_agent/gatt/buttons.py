"""iTag-style BLE buttons: a vendor service 0xFFE0 whose characteristic 0xFFE1 notifies 0x01
on every press. There are no press types. Writing an alert level to Immediate Alert
(0x1802 / 0x2A06) makes the tag beep. They beep when the link drops and may power off.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from device_agent.gatt._reader import Reader

SERVICE_UUID = 0xFFE0
PRESS_UUID = 0xFFE1
IMMEDIATE_ALERT_SERVICE_UUID = 0x1802
ALERT_LEVEL_UUID = 0x2A06

PRESS_VALUE = 0x01


class AlertLevel(IntEnum):
    NO_ALERT = 0
    MILD_ALERT = 1
    HIGH_ALERT = 2


@dataclass(frozen=True, slots=True)
class ItagPress:
    """One press of an iTag button (it has no double or long press)."""


def parse_itag(data: bytes | bytearray | memoryview) -> ItagPress:
    """Parse a 0xFFE1 notification: exactly ``01`` is a press; anything else is malformed."""
    reader = Reader(data, what="iTag button")
    value = reader.u8("press")
    if value != PRESS_VALUE or reader.remaining:
        raise reader.error(
            f"expected the single byte 01, got {reader.data.hex()}", field="press", offset=0
        )
    return ItagPress()


def alert_level(level: AlertLevel) -> bytes:
    """Bytes to write to 0x2A06 to make the tag beep (or stop)."""
    return bytes([level])
