"""Byte vectors and truncation checks shared by the GATT parser tests."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from device_agent.gatt import ParseError


def assert_every_truncation_fails(parse: Callable[[bytes], object], data: bytes) -> None:
    """Every proper prefix of a well-formed value is malformed and says where it broke."""
    parse(data)
    for n in range(len(data)):
        with pytest.raises(ParseError) as caught:
            parse(data[:n])
        message = str(caught.value)
        assert re.search(r"byte \d+", message), message
        assert "truncated" in message, message
        assert caught.value.offset is not None
        assert caught.value.offset <= n


def h(text: str) -> bytes:
    """Bytes from spaced hex, the way vectors are written in specifications."""
    return bytes.fromhex(text.replace(" ", ""))
