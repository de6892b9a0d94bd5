"""The one error a parser raises for malformed bytes."""

from __future__ import annotations


class ParseError(ValueError):
    """Malformed bytes. The message names what was parsed, the field and the byte offset.

    Example: ``blood pressure measurement: field 'pulse_rate' at byte 14: truncated: needs 2
    byte(s), 1 left``. ``field`` and ``offset`` are also kept as attributes, so a caller can log
    them next to the raw bytes it keeps.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        offset: int | None = None,
        context: str | None = None,
    ) -> None:
        parts = [context] if context else []
        where = " ".join(
            part
            for part in (
                f"field {field!r}" if field is not None else "",
                f"at byte {offset}" if offset is not None else "",
            )
            if part
        )
        if where:
            parts.append(where)
        parts.append(message)
        super().__init__(": ".join(parts))
        self.field = field
        self.offset = offset
        self.context = context
