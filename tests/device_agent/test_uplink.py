"""The uplink against real loopback servers: delivery, order, outages, errors, fallback, auth."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from device_agent.config import UplinkConfig
from device_agent.outbox import Outbox
from device_agent.uplink import Uplink, UplinkAuthError
from tests.support.events import panic_event, spo2_event
from tests.support.waiting import wait_until_async

from .fake_server import TOKEN, FakeHttpServer, FakeWsServer

# How long the network stays down in the outage test; raise it to soak-test by hand.
OUTAGE_S = float(os.environ.get("ELDERCARE_TEST_OUTAGE_S", "5"))

FAST = UplinkConfig(
    backoff_base_s=0.05,
    backoff_cap_s=0.3,
    ws_failures_before_http=2,
    ws_retry_interval_s=1.0,
    open_timeout_s=2.0,
    ack_timeout_s=10.0,
)


@pytest.fixture
async def outbox(tmp_path: Path) -> AsyncIterator[Outbox]:
    box = Outbox(tmp_path / "outbox.sqlite3")
    yield box
    await box.close()


@pytest.fixture
async def ws_server() -> AsyncIterator[FakeWsServer]:
    server = FakeWsServer()
    await server.start()
    yield server
    await server.stop()


@contextlib.asynccontextmanager
async def running(uplink: Uplink) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(uplink.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, UplinkAuthError):
            await task


def uplink_for(outbox: Outbox, url: str, settings: UplinkConfig = FAST) -> Uplink:
    return Uplink(outbox=outbox, server_url=url, token=TOKEN, settings=settings)


async def test_delivers_everything_in_order_and_empties_the_outbox(
    outbox: Outbox, ws_server: FakeWsServer
) -> None:
    events = [spo2_event(80 + i % 20) for i in range(1200)]
    await outbox.emit_many(events)
    uplink = uplink_for(outbox, ws_server.url)
    async with running(uplink):
        await wait_until_async(lambda: len(ws_server.store.events) == 1200)
        await wait_until_async(lambda: uplink.state.events_acked == 1200)
    assert ws_server.store.order == [str(e.id) for e in events]
    assert await outbox.depth() == 0
    assert max(len(b) for b in ws_server.store.batches) <= FAST.batch_size
    assert ws_server.handshakes == 1


async def test_panic_goes_out_in_the_next_frame_while_a_backlog_is_in_flight(
    outbox: Outbox, ws_server: FakeWsServer
) -> None:
    readings = [spo2_event(80 + i % 20) for i in range(5000)]
    await outbox.emit_many(readings)
    ws_server.hold_acks = True
    uplink = uplink_for(outbox, ws_server.url)
    async with running(uplink):
        window = FAST.max_frames_in_flight
        await wait_until_async(lambda: uplink.state.frames_sent == window)
        alarm = panic_event()
        await outbox.emit(alarm)
        await wait_until_async(lambda: uplink.state.frames_sent == window + 1)
        ws_server.hold_acks = False
        await wait_until_async(lambda: uplink.state.events_acked == 5001)
    assert ws_server.store.batches[window] == [str(alarm.id)]
    # Everything after the window that was already on the wire comes after the panic.
    position = ws_server.store.order.index(str(alarm.id))
    assert position == window * FAST.batch_size
    assert await outbox.depth() == 0


async def test_panic_pressed_offline_is_the_first_thing_sent_on_reconnect(
    outbox: Outbox,
) -> None:
    server = FakeWsServer()
    await server.start()
    await server.stop()  # the port is known; nothing listens
    uplink = uplink_for(outbox, server.url)
    async with running(uplink):
        readings = [spo2_event(90 + i % 5) for i in range(800)]
        await outbox.emit_many(readings)
        alarm = panic_event()
        await outbox.emit(alarm)
        await asyncio.sleep(0.5)
        await server.start()
        try:
            await wait_until_async(lambda: uplink.state.events_acked == 801, within=15)
        finally:
            await server.stop()
    assert server.store.order[0] == str(alarm.id)
    assert server.store.order[1:] == [str(e.id) for e in readings]


async def test_network_outage_loses_nothing_and_keeps_order(outbox: Outbox) -> None:
    server = FakeWsServer()
    await server.start()
    uplink = uplink_for(outbox, server.url)
    emitted: list[str] = []
    stop = asyncio.Event()

    async def produce() -> None:
        while not stop.is_set():
            event = spo2_event(85 + len(emitted) % 10)
            await outbox.emit(event)
            emitted.append(str(event.id))
            await asyncio.sleep(0.005)

    async with running(uplink):
        producer = asyncio.create_task(produce())
        await wait_until_async(lambda: len(server.store.events) > 50)
        await server.stop()
        await asyncio.sleep(OUTAGE_S)
        assert uplink.state.transport != "websocket"
        queued_during_outage = await outbox.depth()
        await server.start()
        await asyncio.sleep(0.5)
        stop.set()
        await producer
        try:
            await wait_until_async(lambda: uplink.state.events_acked == len(emitted), within=20)
        finally:
            await server.stop()
    assert queued_during_outage > 0
    assert server.store.order == emitted
    assert await outbox.depth() == 0
    assert uplink.state.connections >= 2


async def test_an_error_frame_dead_letters_one_event_and_the_rest_flow(
    outbox: Outbox, ws_server: FakeWsServer
) -> None:
    events = [spo2_event(90 + i) for i in range(10)]
    bad = str(events[3].id)
    ws_server.store.reject_ids.add(bad)
    await outbox.emit_many(events)
    uplink = uplink_for(outbox, ws_server.url)
    async with running(uplink):
        await wait_until_async(lambda: len(ws_server.store.events) == 9)
        await wait_until_async(lambda: uplink.state.dead_lettered == 1)
        later = spo2_event(70)
        await outbox.emit(later)
        await wait_until_async(lambda: str(later.id) in ws_server.store.events)
        await asyncio.sleep(0.2)
    assert bad not in ws_server.store.events
    assert ws_server.store.deliveries[bad] == 1  # not re-sent
    (dead,) = await outbox.dead_letters()
    assert dead.id == bad
    assert dead.reason.startswith("invalid_event")
    assert await outbox.depth() == 0


async def test_malformed_server_frames_are_ignored_and_the_connection_goes_on(
    outbox: Outbox, ws_server: FakeWsServer, caplog: pytest.LogCaptureFixture
) -> None:
    ws_server.garbage_before_ack = True
    events = [spo2_event(95) for _ in range(50)]
    await outbox.emit_many(events)
    uplink = uplink_for(outbox, ws_server.url, FAST.model_copy(update={"batch_size": 10}))
    with caplog.at_level("WARNING", logger="device_agent.uplink"):
        async with running(uplink):
            await wait_until_async(lambda: uplink.state.events_acked == 50)
    assert ws_server.handshakes == 1
    assert uplink.state.connections == 1
    assert "not JSON" in caplog.text
    assert "unknown type" in caplog.text
    assert "malformed ack" in caplog.text


async def test_no_ack_in_time_reconnects_and_resends(
    outbox: Outbox, ws_server: FakeWsServer
) -> None:
    events = [spo2_event(95) for _ in range(5)]
    await outbox.emit_many(events)
    ws_server.hold_acks = True
    uplink = uplink_for(outbox, ws_server.url, FAST.model_copy(update={"ack_timeout_s": 0.5}))
    async with running(uplink):
        await wait_until_async(lambda: ws_server.frames == 1)
        await wait_until_async(lambda: uplink.state.connections >= 2, within=5)
        ws_server.hold_acks = False
        await wait_until_async(lambda: uplink.state.events_acked == 5)
    assert ws_server.store.order == [str(e.id) for e in events]
    assert await outbox.depth() == 0


async def test_bad_token_on_the_websocket_stops_with_a_clear_error(
    outbox: Outbox, ws_server: FakeWsServer
) -> None:
    ws_server.token = "some-other-token"
    await outbox.emit(panic_event())
    uplink = uplink_for(outbox, ws_server.url)
    with pytest.raises(UplinkAuthError, match=r"HTTP 401.*wrong or has been revoked"):
        await asyncio.wait_for(uplink.run(), timeout=5)
    assert ws_server.handshakes == 1  # no hammering
    assert uplink.state.stopped is not None
    assert await outbox.depth() == 1  # the panic is still queued


async def test_http_fallback_when_the_websocket_is_blocked(outbox: Outbox) -> None:
    server = FakeHttpServer(upgrade_status=502)
    await server.start()
    try:
        readings = [spo2_event(90 + i % 5) for i in range(30)]
        await outbox.emit_many(readings)
        alarm = panic_event()
        await outbox.emit(alarm)
        uplink = uplink_for(outbox, server.url)
        async with running(uplink):
            await wait_until_async(lambda: uplink.state.events_acked == 31)
            assert uplink.state.transport == "http"
            attempts = server.upgrade_attempts
            assert attempts == FAST.ws_failures_before_http
            # The WebSocket keeps being retried now and then.
            await wait_until_async(lambda: server.upgrade_attempts > attempts, within=5)
        assert server.store.order[0] == str(alarm.id)
        assert server.store.order[1:] == [str(e.id) for e in readings]
        assert await outbox.depth() == 0
    finally:
        await server.stop()


@pytest.fixture
async def http_server() -> AsyncIterator[FakeHttpServer]:
    server = FakeHttpServer(upgrade_status=400)
    await server.start()
    yield server
    await server.stop()


async def test_http_413_splits_the_batch(outbox: Outbox, http_server: FakeHttpServer) -> None:
    http_server.max_events = 3
    events = [spo2_event(90) for _ in range(10)]
    await outbox.emit_many(events)
    uplink = uplink_for(outbox, http_server.url)
    async with running(uplink):
        await wait_until_async(lambda: uplink.state.events_acked == 10)
    assert http_server.store.order == [str(e.id) for e in events]
    assert all(len(batch) <= 3 for batch in http_server.store.batches)


async def test_http_429_waits_as_long_as_retry_after_says(
    outbox: Outbox, http_server: FakeHttpServer
) -> None:
    http_server.scripted = [429]
    http_server.retry_after = "1"
    await outbox.emit(spo2_event())
    uplink = uplink_for(outbox, http_server.url)
    async with running(uplink):
        await wait_until_async(lambda: http_server.posts == 1)
        refused_at = time.monotonic()
        await wait_until_async(lambda: len(http_server.store.events) == 1, within=5)
        waited = time.monotonic() - refused_at
    assert waited >= 0.9
    assert http_server.posts == 2


async def test_http_per_event_errors_dead_letter_only_that_event(
    outbox: Outbox, http_server: FakeHttpServer
) -> None:
    events = [spo2_event(90 + i) for i in range(5)]
    http_server.store.reject_ids.add(str(events[2].id))
    await outbox.emit_many(events)
    uplink = uplink_for(outbox, http_server.url)
    async with running(uplink):
        await wait_until_async(lambda: uplink.state.events_acked == 4)
        await wait_until_async(lambda: uplink.state.dead_lettered == 1)
    assert [d.id for d in await outbox.dead_letters()] == [str(events[2].id)]
    assert await outbox.depth() == 0


async def test_bad_token_over_http_stops_with_a_clear_error(
    outbox: Outbox, http_server: FakeHttpServer
) -> None:
    http_server.token = "some-other-token"
    await outbox.emit(spo2_event())
    uplink = uplink_for(outbox, http_server.url)
    with pytest.raises(UplinkAuthError, match="HTTP 401 on the HTTP batch endpoint"):
        await asyncio.wait_for(uplink.run(), timeout=5)
    assert http_server.posts == 1
    assert await outbox.depth() == 1
