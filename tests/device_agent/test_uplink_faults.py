"""A link that dies without closing: keepalive and the emergency deadline abort it at once."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from device_agent.config import UplinkConfig
from device_agent.outbox import Outbox
from device_agent.uplink import Uplink
from tests.support.events import fall_event, spo2_event
from tests.support.proxy import FaultProxy
from tests.support.waiting import wait_until_async

from .fake_server import TOKEN, FakeWsServer


@pytest.fixture
async def outbox(tmp_path: Path) -> AsyncIterator[Outbox]:
    box = Outbox(tmp_path / "outbox.sqlite3")
    yield box
    await box.close()


@contextlib.asynccontextmanager
async def through_proxy(
    outbox: Outbox, settings: UplinkConfig
) -> AsyncIterator[tuple[Uplink, FaultProxy, FakeWsServer]]:
    server = FakeWsServer()
    await server.start()
    proxy = FaultProxy("127.0.0.1", server.port)
    await proxy.start()
    uplink = Uplink(outbox=outbox, server_url=proxy.url, token=TOKEN, settings=settings)
    task = asyncio.create_task(uplink.run())
    try:
        yield uplink, proxy, server
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await proxy.stop()
        await server.stop()


async def test_an_idle_link_that_goes_silent_is_aborted_by_keepalive_and_replaced(
    outbox: Outbox,
) -> None:
    settings = UplinkConfig(ping_interval_s=0.3, ping_timeout_s=0.5, backoff_base_s=0.05)
    async with through_proxy(outbox, settings) as (uplink, proxy, server):
        await outbox.emit(spo2_event())
        await wait_until_async(lambda: uplink.state.events_acked == 1)
        proxy.freeze()
        frozen_at = time.monotonic()
        await wait_until_async(lambda: uplink.state.connections == 2, within=5)
        # Noticed within a ping interval plus its timeout, then no close handshake to wait out.
        assert time.monotonic() - frozen_at < 0.3 + 0.5 + 1.0
        assert "keepalive ping" in (uplink.state.last_error or "")
        await outbox.emit(spo2_event())
        await wait_until_async(lambda: uplink.state.events_acked == 2)
    assert server.handshakes == 2


async def test_a_fall_on_a_silent_link_aborts_it_within_its_deadline_not_the_ack_timeout(
    outbox: Outbox,
) -> None:
    # The general ack timeout is long and keepalive slow: only the emergency deadline acts.
    settings = UplinkConfig(
        ack_timeout_s=60, ping_interval_s=60, panic_ack_deadline_s=0.5, backoff_base_s=0.05
    )
    async with through_proxy(outbox, settings) as (uplink, proxy, server):
        await outbox.emit(spo2_event())
        await wait_until_async(lambda: uplink.state.events_acked == 1)
        proxy.freeze()
        event = fall_event()
        pressed = time.monotonic()
        await outbox.emit(event)
        await wait_until_async(lambda: str(event.id) in server.store.events, within=5)
        took = time.monotonic() - pressed
        await wait_until_async(lambda: uplink.state.events_acked == 2)
    assert took < 3.0
    assert uplink.state.sockets_aborted == 1
    assert server.handshakes == 2
    assert server.store.deliveries[str(event.id)] >= 1
