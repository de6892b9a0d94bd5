"""Downlinks on the hub's WebSocket: a `say` is played once per id and acknowledged; a kind
the hub does not know, or a malformed one, is logged and answered as unsupported, and the
events' acks keep their order throughout."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from pathlib import Path

import pytest

from device_agent.outbox import Outbox
from device_agent.speaker import NoPlayer, RecordingPlayer, Speaker, player_from_setting
from device_agent.uplink import Uplink, UplinkAuthError
from eldercare_protocol import Downlink, DownlinkOutcome, Prompt
from tests.support.events import panic_event, spo2_event
from tests.support.waiting import wait_until_async

from .fake_server import TOKEN, FakeWsServer
from .test_uplink import FAST


async def test_say_is_played_once_and_unknown_kinds_are_ignored_with_a_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = FakeWsServer()
    await server.start()
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    player = RecordingPlayer(tmp_path / "played.jsonl")
    speaker = Speaker(player)

    async def handle(downlink: Downlink) -> DownlinkOutcome:
        return await speaker.say(str(downlink.id), downlink.prompt)

    say = str(uuid.uuid4())
    server.downlinks_before_ack = [
        json.dumps({"type": "downlink", "id": str(uuid.uuid4()), "kind": "dance"}),
        json.dumps({"type": "downlink", "id": say, "kind": "say", "prompt": "help_coming"}),
        json.dumps({"type": "downlink", "id": say, "kind": "say", "prompt": "help_coming"}),
        json.dumps({"type": "downlink", "id": str(uuid.uuid4()), "kind": "say", "prompt": "?"}),
        json.dumps({"type": "downlink", "id": "not-an-id", "kind": "say"}),
    ]
    uplink = Uplink(
        outbox=outbox, server_url=server.url, token=TOKEN, settings=FAST, downlink=handle
    )
    task = asyncio.create_task(uplink.run())
    try:
        with caplog.at_level(logging.WARNING, logger="device_agent.uplink"):
            await outbox.emit(panic_event())
            await wait_until_async(lambda: len(server.downlink_acks) == 4, within=10)
            # The connection lives on: later events are sent and acked in order.
            for _ in range(3):
                await outbox.emit(spo2_event())
            await wait_until_async(lambda: len(server.store.kinds_in_order()) == 4, within=10)
            await wait_until_async(lambda: uplink.state.events_acked == 4, within=10)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, UplinkAuthError):
            await task
        await outbox.close()
        await server.stop()
    outcomes = sorted(a["outcome"] for a in server.downlink_acks)
    assert outcomes == ["played", "played", "unsupported", "unsupported"]
    assert [p.name for p in player.played] == ["help_coming.wav"]  # the repeat is not replayed
    assert "unknown kind 'dance'" in caplog.text
    assert "without a usable id" in caplog.text


async def test_a_hub_without_a_speaker_says_so() -> None:
    assert player_from_setting("none").available is False
    speaker = Speaker(NoPlayer())
    assert not speaker.ok
    assert await speaker.say("x", Prompt.HELP_COMING) == DownlinkOutcome.NO_SPEAKER


def test_the_prompts_ship_with_the_agent() -> None:
    import wave

    from device_agent.prompts import prompt_path

    for prompt in Prompt:
        with wave.open(str(prompt_path(prompt))) as audio:
            seconds = audio.getnframes() / audio.getframerate()
        assert 0.5 < seconds < 10
