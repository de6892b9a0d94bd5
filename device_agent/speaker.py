"""The hub's speaker: plays a shipped prompt when the server says so (a `say` downlink).

`Player` is what plays a WAV file. `CommandPlayer` runs the hub's own player (`paplay` under
PulseAudio/PipeWire, else ALSA's `aplay`); `RecordingPlayer` writes what it would play to a
file (tests and the simulated hub); `NoPlayer` is a hub with nothing to play through, which
its heartbeat then says (`speaker_ok: false`), so the centre knows the elder hears nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from collections import OrderedDict
from pathlib import Path
from typing import Protocol

from device_agent.clock import utc_now
from device_agent.prompts import prompt_path
from eldercare_protocol import DownlinkOutcome, Prompt

log = logging.getLogger(__name__)

PLAY_TIMEOUT_S = 30.0
# Downlink ids remembered, so one sent again (its ack was lost) is not played twice.
REMEMBERED_IDS = 256


class PlayFailed(Exception):
    pass


class Player(Protocol):
    @property
    def available(self) -> bool: ...

    async def play(self, path: Path) -> None: ...


class NoPlayer:
    available = False

    async def play(self, path: Path) -> None:
        raise PlayFailed("no speaker")


class CommandPlayer:
    """Plays with an external command, e.g. ``["aplay", "-q"]``; the file is appended."""

    available = True

    def __init__(self, command: list[str]) -> None:
        self.command = command

    async def play(self, path: Path) -> None:
        process = await asyncio.create_subprocess_exec(
            *self.command,
            str(path),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            _, err = await asyncio.wait_for(process.communicate(), timeout=PLAY_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise PlayFailed(f"{self.command[0]} did not finish in {PLAY_TIMEOUT_S:g} s") from None
        if process.returncode != 0:
            detail = err.decode(errors="replace").strip().splitlines()[-1:] or [""]
            raise PlayFailed(f"{self.command[0]} exited {process.returncode}: {detail[0][:200]}")


class RecordingPlayer:
    """Plays nothing; keeps (and, given a file, appends as JSON lines) what it would play."""

    available = True

    def __init__(self, record_to: Path | None = None) -> None:
        self.record_to = record_to
        self.played: list[Path] = []

    async def play(self, path: Path) -> None:
        self.played.append(path)
        if self.record_to is not None:
            line = json.dumps({"at": utc_now().isoformat(), "file": path.name})
            with self.record_to.open("a", encoding="utf-8") as out:
                out.write(line + "\n")


def _has_sound_card() -> bool:
    try:
        cards = Path("/proc/asound/cards").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return bool(cards.strip()) and "no soundcards" not in cards


def find_player() -> Player:
    """The hub's own player: paplay (a sound server), else aplay with a sound card."""
    paplay = shutil.which("paplay")
    if paplay:
        return CommandPlayer([paplay])
    aplay = shutil.which("aplay")
    if aplay and _has_sound_card():
        return CommandPlayer([aplay, "-q"])
    return NoPlayer()


def player_from_setting(setting: str) -> Player:
    """``auto`` (the hub's own), ``none``, or ``record:PATH`` (the simulated hub, tests)."""
    if setting == "none":
        return NoPlayer()
    if setting.startswith("record:"):
        return RecordingPlayer(Path(setting.removeprefix("record:")))
    return find_player()


class Speaker:
    """Says prompts through a player, each downlink id once."""

    def __init__(self, player: Player) -> None:
        self.player = player
        self._done: OrderedDict[str, DownlinkOutcome] = OrderedDict()
        self._lock = asyncio.Lock()

    @property
    def ok(self) -> bool:
        return self.player.available

    async def say(self, downlink_id: str, prompt: Prompt) -> DownlinkOutcome:
        async with self._lock:  # one prompt at a time, in the order they came
            if downlink_id in self._done:
                return self._done[downlink_id]
            outcome = await self._play(prompt)
            self._done[downlink_id] = outcome
            while len(self._done) > REMEMBERED_IDS:
                self._done.popitem(last=False)
            return outcome

    async def _play(self, prompt: Prompt) -> DownlinkOutcome:
        if not self.player.available:
            log.warning("asked to say %s, but this hub has no speaker", prompt.value)
            return DownlinkOutcome.NO_SPEAKER
        path = prompt_path(prompt)
        if not path.exists():
            log.error("prompt %s is not installed (%s)", prompt.value, path)
            return DownlinkOutcome.FAILED
        try:
            await self.player.play(path)
        except PlayFailed as exc:
            log.error("could not play %s: %s", prompt.value, exc)
            return DownlinkOutcome.FAILED
        log.info("said %s", prompt.value)
        return DownlinkOutcome.PLAYED
