"""The composed agent: a wired-button press and heartbeats reach a real loopback server."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from device_agent.config import parse_config
from device_agent.runtime import Agent
from eldercare_protocol import HeartbeatEvent, PanicEvent
from tests.support.waiting import wait_until_async

from .fake_server import TOKEN, FakeWsServer


async def test_agent_forwards_a_local_long_press_and_heartbeats(tmp_path: Path) -> None:
    server = FakeWsServer()
    await server.start()
    presses = tmp_path / "button.lines"
    presses.write_text("short\nlong\n")
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    config = parse_config(
        {
            "server_url": server.url,
            "token_file": str(token_file),
            "outbox_path": str(tmp_path / "outbox.sqlite3"),
            "heartbeat_interval_s": 1,
            "hub_device": "hub-7",
            "devices": [{"name": "wired", "kind": "local_button", "source": str(presses)}],
        }
    )
    agent = Agent(config)
    task = asyncio.create_task(agent.run())
    try:
        await wait_until_async(
            lambda: sum(isinstance(e, HeartbeatEvent) for e in server.store.events.values()) >= 2,
            within=10,
        )
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await server.stop()
    panics = [e for e in server.store.events.values() if isinstance(e, PanicEvent)]
    assert len(panics) == 1
    assert panics[0].device == "wired" and not panics[0].payload.test
    beats = [e for e in server.store.events.values() if isinstance(e, HeartbeatEvent)]
    assert all(b.device == "hub-7" for b in beats)
    # The button's input file ended, which the later heartbeat reports.
    wired = beats[-1].payload.devices[0]
    assert wired.device == "wired" and not wired.reachable
    assert wired.problem is not None and "ended" in wired.problem
