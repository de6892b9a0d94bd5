"""Hostile bytes for every BLE parser: the real vectors, their mutations, and random bytes.

Shared by the fuzz bench (bench/fuzz_ble.py, a million payloads) and the hypothesis test
that keeps a smaller run in `make test`. Every target takes bytes and must return or raise
``ParseError``; anything else escaping is a bug in the parser.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from device_agent.ble import payloads
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
)
from device_agent.gatt.errors import ParseError
from device_agent.gatt.vendor import berrymed
from eldercare_protocol import PressType
from tests.support.gatt import h

RECEIVED = datetime(2026, 11, 22, 9, 5, tzinfo=UTC)
BTHOME_KEY = "231d39c1d7cc1ab1aee224cd096db932"
BTHOME_MAC = "54:48:E6:8F:80:A5"

# The vectors of the parser tests (tests/device_agent/gatt, tests/device_agent/ble): published
# examples and the edge cases the tests pin down.
VECTORS: dict[str, list[bytes]] = {
    "blood_pressure": [
        h("1E 8A00 5800 7800 0000 04 11 14 29 3B 3C00 01 2700"),
        h("01 B8F0 7DF0 FF07"),
        h("02 7800 5000 5A00 EA07 0B 16 09 05 01"),
        h("04 9800 FF07 FF07 4600"),
        h("08 7800 5000 5A00 00"),
        h("E0 7800 5000 5A00 AABB"),
        h("16 8A00 5800 7800 E907 05 01 09 1E 00 3C00 0400"),
        h("09 B8F0 75F0 8CF0 02"),
        h("18 5B00 6800 19F0"),
    ],
    "pulse_oximeter": [
        h("00 6100 4800"),
        h("01 6200 3C00 EA07 0B 16 09 05 01"),
        h("04 6100 4800 008001"),
        h("1F 5E00 5000 EA07 0B 16 09 05 01 8000 280000 2DF0"),
        h("1F 6000 4B00 6100 4C00 5F00 4A00 0020 010000 0F00"),
    ],
    "glucose": [
        h("0B 2A00 EA07 0B 16 07 1E 00 0F00 5FB0 11 0100"),
        h("02 0100 EA07 01 01 00 00 00 5FB0 B0"),
        h("02 0100 EA07 01 01 00 00 00 FF07 11"),
        h("01 0100 0F27 0C 1F 17 3B 3B FF7F"),
        h("00 0500 E907 05 01 08 00 00"),
        h("02 0300 E907 05 01 08 00 00 36B0 11"),
        h("02 0400 E907 05 01 08 00 00 36B0 1A"),
    ],
    "glucose_context": [
        h("FF 2A00 00 01 14D0 02 21 0807 32 01 E8D0 4600"),
        h("16 0700 EA07 01 02 03 04 05 37C0 24"),
        h("02 0300 02"),
        h("05 0A00"),
        h("07 1400"),
    ],
    "bthome": [
        h("40 3A 04"),
        h("44 00 01 01 5A 3A 01"),
        h("44 00 07 01 5A 3A 04 FE 01 02 03"),
        h("44 00 07 3A 00 3A 02 3A 00 3A 04"),
        h("40 02 CA09 03 BF13 02 0CFE 0C 020C 04 138A01 53 03 616263"),
        h("40 00 2E 01 64 1E 01 2E 34 45 1601"),
        h("42 A5808FE64854 3A 01"),
        h("41 A47266C95F73 00112233 78237214"),
        h("41 D2FCEFE52EB212D6 00112233 BC38C966"),
        h("40 53 05 6162"),
    ],
    "racp": [
        h("05 00 0300"),
        h("05 00 FFFF"),
        h("06 00 01 01"),
        h("06 00 01 06"),
        h("06 00 09 01"),
    ],
    "date_time": [
        h("EA07 0B 16 09 05 01 07 80 01"),
        h("EA07 04 11 14 29 3B"),
        h("0000 02 1D 00 00 00"),
    ],
    "device_info": [h("02 6B1D 0100 0300"), h("0102030405 A1B2C3"), h("01 0E02 B80B 0001")],
    "berrymed": [h("C6 32 45 0C 61"), h("A0 00 70 7F 7F"), h("C6 32 45 0C 61" * 3)],
    "small": [h("5A"), h("01"), h("FF"), h("8A00"), h("FF07")],
}


def _oximeter_window(data: bytes) -> object:
    frames = berrymed.FrameParser().feed(data)
    return payloads.oximeter_window_payload(frames, min_valid_frames=1)


def _bthome_keyed(data: bytes) -> object:
    return bthome.parse(data, bind_key=BTHOME_KEY, mac=BTHOME_MAC)


def _bthome_driver(data: bytes) -> object:
    # What the BTHome driver does with one advert: parse, check, count the presses.
    packet = bthome.parse(data, bind_key=BTHOME_KEY, mac=BTHOME_MAC)
    payloads.bthome_security(packet, keyed=True, last_counter=100)
    return payloads.bthome_panics(packet, test_press=PressType.TRIPLE)


def _glucose_with_context(data: bytes) -> object:
    half = len(data) // 2
    try:
        context = glucose.parse_context(data[half:])
    except ParseError:  # the context parser has its own target
        context = None
    return payloads.glucose_payload(data[:half] or data, received=RECEIVED, context=context)


@dataclass(frozen=True)
class Target:
    name: str
    call: Callable[[bytes], object]
    seeds: str  # key into VECTORS


TARGETS: list[Target] = [
    Target("battery.parse_level", battery.parse_level, "small"),
    Target("blood_pressure.parse_measurement", blood_pressure.parse_measurement, "blood_pressure"),
    Target(
        "blood_pressure.parse_intermediate_cuff_pressure",
        blood_pressure.parse_intermediate_cuff_pressure,
        "blood_pressure",
    ),
    Target("bthome.parse", bthome.parse, "bthome"),
    Target("bthome.parse (keyed)", _bthome_keyed, "bthome"),
    Target("buttons.parse_itag", buttons.parse_itag, "small"),
    Target("date_time.parse_date_time", date_time.parse_date_time, "date_time"),
    Target("date_time.parse_current_time", date_time.parse_current_time, "date_time"),
    Target("device_info.decode_string", device_info.decode_string, "device_info"),
    Target("device_info.parse_pnp_id", device_info.parse_pnp_id, "device_info"),
    Target("device_info.parse_system_id", device_info.parse_system_id, "device_info"),
    Target("glucose.parse_measurement", glucose.parse_measurement, "glucose"),
    Target("glucose.parse_context", glucose.parse_context, "glucose_context"),
    Target("pulse_oximeter.parse_spot_check", pulse_oximeter.parse_spot_check, "pulse_oximeter"),
    Target("pulse_oximeter.parse_continuous", pulse_oximeter.parse_continuous, "pulse_oximeter"),
    Target("racp.parse_response", racp.parse_response, "racp"),
    Target("sfloat.decode", sfloat.decode, "small"),
    Target("berrymed.decode_frame", berrymed.decode_frame, "berrymed"),
    Target("berrymed.FrameParser.feed", lambda d: berrymed.FrameParser().feed(d), "berrymed"),
    Target(
        "payloads.blood_pressure_payload",
        lambda d: payloads.blood_pressure_payload(d, received=RECEIVED),
        "blood_pressure",
    ),
    Target(
        "payloads.spot_check_payload",
        lambda d: payloads.spot_check_payload(d, received=RECEIVED),
        "pulse_oximeter",
    ),
    Target("payloads.glucose_payload", _glucose_with_context, "glucose"),
    Target("payloads.glucose_event_id", lambda d: payloads.glucose_event_id("meter", d), "glucose"),
    Target("payloads.oximeter_window_payload", _oximeter_window, "berrymed"),
    Target("payloads.bthome (driver path)", _bthome_driver, "bthome"),
    Target("payloads.itag_panic", payloads.itag_panic, "small"),
]

INTERESTING = (0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF, 0x07, 0xF0, 0x0F)


def mutate(rng: random.Random, data: bytes) -> bytes:
    """One to four random edits of `data`: flip, set to an edge value, insert, delete,
    truncate, duplicate a slice, or splice random bytes."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(8)
        pos = rng.randrange(len(out) + 1)
        if op == 0 and out:
            out[pos % len(out)] ^= 1 << rng.randrange(8)
        elif op == 1 and out:
            out[pos % len(out)] = rng.choice(INTERESTING)
        elif op == 2:
            out.insert(pos, rng.randrange(256))
        elif op == 3 and out:
            del out[pos % len(out)]
        elif op == 4:
            del out[pos:]
        elif op == 5 and out:
            start = rng.randrange(len(out))
            out[pos:pos] = out[start : start + rng.randint(1, 8)]
        elif op == 6:
            out[pos:pos] = rng.randbytes(rng.randint(1, 8))
        elif out:
            out[0] = rng.randrange(256)  # the flags byte decides what follows
    return bytes(out)


def payload(rng: random.Random, target: Target) -> bytes:
    """A quarter random bytes (0–40 long), the rest mutations of the target's vectors."""
    if rng.random() < 0.25:
        return rng.randbytes(rng.randint(0, 40))
    return mutate(rng, rng.choice(VECTORS[target.seeds]))
