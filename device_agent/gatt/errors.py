"""The one error a parser raises for malformed bytes."""

from __future__ import annotations


class ParseError(ValueError):
    """Malformed bytes. The message names the field and the byte offset where it went wrong.

    ``field`` and ``offset`` are kept as attributes so a caller can log them separately from
    the raw bytes it keeps.
    """

    def __init__(self, message: str, *, field: str | None = None, offset: int | None = None):
        where = []
        if field is not None:
            where.append(f"field {field!r}")
        if offset is not None:
            where.append(f"byte {offset}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.field = field
        self.offset = offset
