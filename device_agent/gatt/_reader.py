"""A bounds-checked cursor over bytes: every read names its field, so errors say where."""

from __future__ import annotations

from device_agent.gatt import sfloat
from device_agent.gatt.errors import ParseError

ByteString = bytes | bytearray | memoryview


def as_bytes(data: object, *, what: str) -> bytes:
    """Accept the byte-like types a BLE stack hands over; anything else is a ParseError."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    raise ParseError(f"{what}: expected bytes, got {type(data).__name__}")


class Reader:
    def __init__(self, data: object, *, what: str) -> None:
        self.data = as_bytes(data, what=what)
        self.what = what
        self.offset = 0

    @property
    def remaining(self) -> int:
        return len(self.data) - self.offset

    def error(self, message: str, *, field: str, offset: int | None = None) -> ParseError:
        return ParseError(
            f"{self.what}: {message}",
            field=field,
            offset=self.offset if offset is None else offset,
        )

    def take(self, size: int, field: str) -> bytes:
        if self.remaining < size:
            raise self.error(f"truncated: needs {size} byte(s), {self.remaining} left", field=field)
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def rest(self) -> bytes:
        chunk = self.data[self.offset :]
        self.offset = len(self.data)
        return chunk

    def u8(self, field: str) -> int:
        return self.take(1, field)[0]

    def s8(self, field: str) -> int:
        return int.from_bytes(self.take(1, field), "little", signed=True)

    def u16(self, field: str) -> int:
        return int.from_bytes(self.take(2, field), "little")

    def s16(self, field: str) -> int:
        return int.from_bytes(self.take(2, field), "little", signed=True)

    def u24(self, field: str) -> int:
        return int.from_bytes(self.take(3, field), "little")

    def u32(self, field: str) -> int:
        return int.from_bytes(self.take(4, field), "little")

    def s32(self, field: str) -> int:
        return int.from_bytes(self.take(4, field), "little", signed=True)

    def sfloat(self, field: str, *, scale: int = 0) -> float:
        return sfloat.decode(self.u16(field), scale=scale)
