"""The agent as a real process: SIGKILL mid-stream and restart lose and duplicate nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from tests.support.waiting import wait_until_async

from .fake_server import TOKEN, FakeWsServer

ROOT = Path(__file__).resolve().parents[2]


async def spawn_simulator(
    server: FakeWsServer, state: Path, *extra: str, token: str = TOKEN
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "device_agent.cli",
        "simulate",
        "--server",
        server.url,
        "--token",
        token,
        "--state-dir",
        str(state / "hubs"),
        "--id-log",
        str(state / "ids.log"),
        "--backoff-cap",
        "0.3",
        "--heartbeat-interval",
        "1",
        *extra,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def logged_ids(state: Path) -> list[str]:
    path = state / "ids.log"
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    return [line.split()[0] for line in lines if line.strip() and not line.startswith("?")]


@pytest.mark.slow
async def test_sigkill_mid_stream_then_restart_delivers_every_event_exactly_once(
    tmp_path: Path,
) -> None:
    server = FakeWsServer()
    await server.start()
    try:
        first = await spawn_simulator(
            server, tmp_path, "--hubs", "2", "--rate", "200", "--panic-every", "0.3"
        )
        await wait_until_async(lambda: len(server.store.events) >= 300, within=20)
        # Leave frames unacked and readings unsent at the moment of the kill.
        server.hold_acks = True
        await asyncio.sleep(0.3)
        first.kill()
        assert await first.wait() == -signal.SIGKILL
        emitted_before_kill = set(logged_ids(tmp_path))
        stored_before_restart = len(server.store.events)
        server.hold_acks = False

        second = await spawn_simulator(
            server, tmp_path, "--hubs", "2", "--rate", "200", "--count", "25", "--exit-when-drained"
        )
        _, stderr = await asyncio.wait_for(second.communicate(), timeout=60)
        assert second.returncode == 0, stderr.decode()[-2000:]
    finally:
        await server.stop()

    emitted = logged_ids(tmp_path)
    assert len(emitted) == len(set(emitted))
    stored = set(server.store.events)
    assert len(emitted_before_kill) > stored_before_restart - 10
    missing = set(emitted) - stored
    assert not missing, f"{len(missing)} stored events never reached the server"
    # The only ids the server may hold beyond the log are ones committed in the instant
    # between the outbox commit and the log line when the kill landed (one per producer).
    assert len(stored - set(emitted)) <= 6
    assert len(server.store.order) == len(stored)
    # The frame that was stored but not acked at the kill was sent again, and deduplicated.
    assert sum(server.store.deliveries.values()) > len(stored)
    kinds = set(server.store.kinds_in_order())
    assert {"vitals", "panic", "heartbeat"} <= kinds
    assert len(emitted) - len(emitted_before_kill) >= 2 * 25


async def test_a_refused_token_stops_the_simulator_with_a_clear_message(tmp_path: Path) -> None:
    server = FakeWsServer()
    await server.start()
    try:
        process = await spawn_simulator(server, tmp_path, "--rate", "5", token="a-revoked-token")
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
    finally:
        await server.stop()
    assert process.returncode == 3
    assert "refused this hub's token (HTTP 401" in stderr.decode()
    assert server.handshakes == 1
