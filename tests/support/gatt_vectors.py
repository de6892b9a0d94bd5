"""The shared GATT byte vectors (tests/vectors/gatt.json) run through the Python parsers.

Both the Python tests and the care app's TypeScript tests read the same file; a result is
turned into plain JSON here (datetimes as naive ISO text, enum and flag fields as their
integers, NaN and infinities as strings) so the two parsers' whole results can be compared.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from device_agent.gatt import (
    ParseError,
    battery,
    blood_pressure,
    date_time,
    glucose,
    pulse_oximeter,
    racp,
    sfloat,
)

VECTORS_FILE = Path(__file__).resolve().parents[1] / "vectors" / "gatt.json"


def load() -> list[dict[str, Any]]:
    vectors: list[dict[str, Any]] = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))["vectors"]
    return vectors


def hex_bytes(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def plain(value: Any) -> Any:
    """A parser result as the JSON both sides compare."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, Enum):
        return int(value.value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date_time.DateTime):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, racp.NumberOfRecords):
        return {"kind": "count", "count": value.count}
    if isinstance(value, racp.Response):
        return {
            "kind": "response",
            "request_opcode": int(value.request_opcode),
            "code": int(value.code),
            "ok": value.ok,
        }
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    raise TypeError(f"no plain form for {type(value).__name__}")


def _date_time(data: bytes) -> dict[str, Any]:
    value = date_time.parse_date_time(data)
    out: dict[str, Any] = plain(value)
    complete = value.to_datetime()
    out["iso"] = complete.isoformat() if complete else None
    return out


PARSERS: dict[str, Callable[[bytes], Any]] = {
    "sfloat": lambda data: {"value": plain(sfloat.decode(data))},
    "date_time": _date_time,
    "blood_pressure.measurement": lambda data: plain(blood_pressure.parse_measurement(data)),
    "blood_pressure.intermediate_cuff_pressure": lambda data: plain(
        blood_pressure.parse_intermediate_cuff_pressure(data)
    ),
    "pulse_oximeter.spot_check": lambda data: plain(pulse_oximeter.parse_spot_check(data)),
    "pulse_oximeter.continuous": lambda data: plain(pulse_oximeter.parse_continuous(data)),
    "glucose.measurement": lambda data: plain(glucose.parse_measurement(data)),
    "racp.response": lambda data: plain(racp.parse_response(data)),
    "battery.level": lambda data: {"value": battery.parse_level(data)},
}

REQUESTS: dict[str, Callable[..., bytes]] = {
    "report_all": racp.report_all,
    "report_after": racp.report_after,
    "report_count": racp.report_count,
}


def run(vector: dict[str, Any]) -> dict[str, Any]:
    """What the Python side makes of one vector: ``{"result": …}`` or ``{"error": …}``
    (for RACP requests, ``{"hex": …}`` of the bytes built)."""
    if vector["parser"] == "racp.request":
        build = REQUESTS[vector["request"]]
        args = [vector["argument"]] if "argument" in vector else []
        return {"hex": build(*args).hex().upper()}
    try:
        return {"result": PARSERS[vector["parser"]](hex_bytes(vector["hex"]))}
    except ParseError as error:
        return {"error": {"field": error.field, "offset": error.offset, "message": str(error)}}
