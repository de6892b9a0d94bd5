"""A button wired to the hub itself: long press = panic, a short-press pattern = test press.

The source is a stream of lines, so the same code serves a keyboard (stdin) and a GPIO line
(a small daemon, or a ``gpiomon`` pipe, writing to a FIFO). Recognised lines:

- ``down`` / ``1`` / ``press`` and ``up`` / ``0`` / ``release``: raw edges, timed here;
  held for ``long_press_s`` or more is a panic, fired while still held (no need to let go);
- ``long``: a long press (panic) in one line;
- ``short`` or an empty line (Enter): one short press.

Exactly ``test_presses`` short presses, each within ``window_s`` of the previous, make a test
press (``PanicPayload(test=True)``) once the window closes; any other count is ignored, so a
stray tap never raises an alarm.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from uuid import uuid4

from device_agent.clock import utc_now
from device_agent.health import HubHealth
from device_agent.sink import EventSink
from eldercare_protocol import PanicEvent, PanicPayload, PressType

log = logging.getLogger(__name__)

DOWN = frozenset({"down", "1", "press"})
UP = frozenset({"up", "0", "release"})
SHORT = frozenset({"short", ""})
LONG = frozenset({"long"})

PANIC = PanicPayload(source="local", press=PressType.LONG)
TEST = PanicPayload(source="local", press=PressType.TRIPLE, test=True)


@dataclass
class PressClassifier:
    """Pure press logic: feed it timed edges or presses, poll ``tick``; no clock of its own."""

    long_press_s: float = 2.0
    test_presses: int = 3
    window_s: float = 1.5
    _down_at: float | None = field(default=None, init=False)
    _long_fired: bool = field(default=False, init=False)
    _shorts: list[float] = field(default_factory=list, init=False)

    def down(self, now: float) -> None:
        if self._down_at is None:
            self._down_at = now
            self._long_fired = False

    def up(self, now: float) -> PanicPayload | None:
        if self._down_at is None:
            return None
        held = now - self._down_at
        self._down_at = None
        if self._long_fired:
            return None
        if held >= self.long_press_s:
            self._shorts.clear()
            return PANIC
        self.short(now)
        return None

    def long(self) -> PanicPayload:
        self._shorts.clear()
        return PANIC

    def short(self, now: float) -> None:
        self._shorts.append(now)

    def tick(self, now: float) -> PanicPayload | None:
        if (
            self._down_at is not None
            and not self._long_fired
            and now - self._down_at >= self.long_press_s
        ):
            self._long_fired = True
            self._shorts.clear()
            return PANIC
        if self._shorts and self._down_at is None and now - self._shorts[-1] >= self.window_s:
            count = len(self._shorts)
            self._shorts.clear()
            if count == self.test_presses:
                return TEST
            log.info("ignored %d short press(es) on the local button", count)
        return None

    def next_deadline(self) -> float | None:
        """When ``tick`` may next have something to say."""
        if self._down_at is not None and not self._long_fired:
            return self._down_at + self.long_press_s
        if self._shorts and self._down_at is None:
            return self._shorts[-1] + self.window_s
        return None


class LocalButton:
    def __init__(
        self,
        *,
        sink: EventSink,
        device: str,
        classifier: PressClassifier | None = None,
        health: HubHealth | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sink = sink
        self.device = device
        self.classifier = classifier or PressClassifier()
        self.health = health
        self.clock = clock
        if health is not None:
            health.register(device, ble=False)
            health.update(device, reachable=True)  # wired: reachable as long as the hub runs

    async def run(self, lines: AsyncIterator[str]) -> None:
        """Consume lines until the source ends, emitting panics and test presses."""
        iterator = aiter(lines)
        pending: asyncio.Task[str] | None = None
        try:
            while True:
                if pending is None:
                    pending = asyncio.ensure_future(anext(iterator))
                deadline = self.classifier.next_deadline()
                timeout = None if deadline is None else max(0.0, deadline - self.clock())
                done, _ = await asyncio.wait({pending}, timeout=timeout)
                if done:
                    try:
                        line = pending.result()
                    except StopAsyncIteration:
                        pending = None
                        return
                    pending = None
                    await self.feed(line)
                await self._emit(self.classifier.tick(self.clock()))
        finally:
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await pending

    async def feed(self, line: str) -> None:
        token = line.strip().lower()
        now = self.clock()
        if token in DOWN:
            self.classifier.down(now)
        elif token in UP:
            await self._emit(self.classifier.up(now))
        elif token in LONG:
            await self._emit(self.classifier.long())
        elif token in SHORT:
            self.classifier.short(now)
        else:
            log.warning("local button: ignored an unknown line")

    async def _emit(self, payload: PanicPayload | None) -> None:
        if payload is None:
            return
        event = PanicEvent(id=uuid4(), device=self.device, occurred_at=utc_now(), payload=payload)
        await self.sink.emit(event)
        log.info("local button: %s %s stored", "test press" if payload.test else "panic", event.id)


async def lines_from(source: str) -> AsyncIterator[str]:
    """Lines from ``"stdin"`` or a file path; a FIFO is reopened when its writer goes away."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def put(line: str | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has already closed
            loop.call_soon_threadsafe(queue.put_nowait, line)

    def pump() -> None:
        try:
            if source == "stdin":
                for line in sys.stdin:
                    put(line)
                return
            path = Path(source)
            while True:
                with path.open(encoding="utf-8") as handle:
                    for line in handle:
                        put(line)
                if not path.is_fifo():
                    return
        except OSError as exc:
            log.error("local button source %s: %s", source, exc.strerror)
        finally:
            put(None)

    threading.Thread(target=pump, name=f"button-{source}", daemon=True).start()
    while (line := await queue.get()) is not None:
        yield line
