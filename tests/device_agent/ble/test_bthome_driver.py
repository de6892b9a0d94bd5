"""The BTHome button driver's decisions on each advert, fed service data directly (no radio):
the encryption rules (no plaintext from a keyed button, a counter that grows) and adverts
carrying objects newer than the hub."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from device_agent.ble.drivers.base import DriverContext
from device_agent.ble.drivers.bthome import BthomeButtonDriver
from device_agent.ble.state import BleState
from device_agent.ble.types import PLATFORM_BACKEND, BleDeviceSpec, DeviceKind
from device_agent.gatt import bthome
from device_agent.gatt.bthome import ButtonEvent
from eldercare_protocol import DeviceStatus, DeviceStatusEvent, PanicEvent, PressType
from tests.device_agent.ble.conftest import FAST, MemoryHealth, MemorySink

KEY = "231d39c1d7cc1ab1aee224cd096db932"
MAC = "C1:B0:0D:00:00:07"


@pytest.fixture
def state() -> Iterator[BleState]:
    state = BleState(":memory:")
    yield state
    state.close()


def driver(
    sink: MemorySink, health: MemoryHealth, state: BleState, *, bind_key: str | None = KEY
) -> BthomeButtonDriver:
    spec = BleDeviceSpec(
        name="button", kind=DeviceKind.BTHOME_BUTTON, address=MAC, bind_key=bind_key
    )
    ctx = DriverContext(
        sink=sink, health=health, backend=PLATFORM_BACKEND, state=state, timing=FAST
    )
    return BthomeButtonDriver(spec, ctx)


def press(packet_id: int, counter: int, event: ButtonEvent = ButtonEvent.PRESS) -> bytes:
    return bthome.encode(
        packet_id=packet_id,
        battery=90,
        button_events=[event],
        bind_key=KEY,
        mac=MAC,
        counter=counter,
    )


def panics(sink: MemorySink) -> list[PanicEvent]:
    return [e for e in sink.events if isinstance(e, PanicEvent)]


def errors(sink: MemorySink) -> list[DeviceStatusEvent]:
    return [
        e
        for e in sink.events
        if isinstance(e, DeviceStatusEvent) and e.payload.status == DeviceStatus.ERROR
    ]


async def test_a_plaintext_press_claiming_a_keyed_buttons_address_is_refused_and_reported(
    sink: MemorySink, health: MemoryHealth, state: BleState
) -> None:
    button = driver(sink, health, state)
    forged = bthome.encode(packet_id=1, battery=90, button_events=[ButtonEvent.LONG_PRESS])
    for _ in range(3):  # an advert is repeated; one report, not one per copy
        await button.handle(forged)
    assert panics(sink) == []
    assert len(errors(sink)) == 1
    assert "unencrypted" in (errors(sink)[0].payload.detail or "")
    assert "downgrade" in (health.updates[-1].problem or "")

    # The real button still gets through, and the attempt stays in the hub's health.
    await button.handle(press(packet_id=2, counter=7))
    assert [p.payload.press for p in panics(sink)] == [PressType.SINGLE]
    assert "downgrade" in (health.updates[-1].problem or "")


async def test_an_older_encrypted_advert_is_a_refused_replay(
    sink: MemorySink, health: MemoryHealth, state: BleState
) -> None:
    button = driver(sink, health, state)
    recorded = press(packet_id=1, counter=500, event=ButtonEvent.LONG_PRESS)
    await button.handle(recorded)
    await button.handle(press(packet_id=2, counter=501))
    await button.handle(press(packet_id=2, counter=501))  # the same advert repeated: nothing new
    assert [p.payload.press for p in panics(sink)] == [PressType.LONG, PressType.SINGLE]
    assert errors(sink) == []

    await button.handle(recorded)
    assert len(panics(sink)) == 2
    assert len(errors(sink)) == 1
    detail = errors(sink)[0].payload.detail or ""
    assert "counter 500" in detail and "501" in detail
    assert "replay" in (health.updates[-1].problem or "")


async def test_a_counter_starting_again_from_zero_is_a_reset_button_not_a_replay(
    sink: MemorySink, health: MemoryHealth, state: BleState
) -> None:
    button = driver(sink, health, state)
    await button.handle(press(packet_id=9, counter=40_000))
    await button.handle(press(packet_id=1, counter=1))  # new battery: the counter restarts
    assert len(panics(sink)) == 2
    assert errors(sink) == []


async def test_a_button_without_a_key_may_send_plaintext(
    sink: MemorySink, health: MemoryHealth, state: BleState
) -> None:
    button = driver(sink, health, state, bind_key=None)
    await button.handle(bthome.encode(packet_id=1, button_events=[ButtonEvent.PRESS]))
    assert len(panics(sink)) == 1
    assert errors(sink) == []


async def test_a_press_followed_by_an_unknown_object_still_raises_a_panic(
    sink: MemorySink, health: MemoryHealth, state: BleState, caplog: pytest.LogCaptureFixture
) -> None:
    button = driver(sink, health, state)
    newer = bthome.encode(
        packet_id=3,
        button_events=[ButtonEvent.PRESS],
        extra_objects=bytes.fromhex("FE 0102"),
        bind_key=KEY,
        mac=MAC,
        counter=12,
    )
    await button.handle(newer)
    assert [p.payload.press for p in panics(sink)] == [PressType.SINGLE]
    assert "0xFE" in caplog.text
