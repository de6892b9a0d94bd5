"""Battery service 0x180F: Battery Level 0x2A19, one byte of percent (0–100)."""

from __future__ import annotations

from device_agent.gatt._reader import Reader

SERVICE_UUID = 0x180F
LEVEL_UUID = 0x2A19


def parse_level(data: bytes | bytearray | memoryview) -> int:
    """The battery level in percent. A value above 100 is malformed (``ParseError``)."""
    reader = Reader(data, what="battery level")
    level = reader.u8("level")
    if level > 100:
        raise reader.error(f"level {level} is above 100 %", field="level", offset=0)
    return level


def encode_level(level: int) -> bytes:
    if not 0 <= level <= 100:
        raise ValueError(f"battery level {level} is outside 0..100")
    return bytes([level])
