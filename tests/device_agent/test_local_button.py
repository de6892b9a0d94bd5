"""The wired button: long press is a panic, exactly N short presses is a test press."""

from __future__ import annotations

from collections.abc import AsyncIterator

from device_agent.local_button import LocalButton, PressClassifier
from eldercare_protocol import Event, PanicEvent, PressType


class ListSink:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def emit(self, event: Event) -> None:
        self.events.append(event)


def test_held_long_enough_fires_while_still_held_and_only_once() -> None:
    c = PressClassifier(long_press_s=2.0)
    c.down(10.0)
    assert c.tick(11.9) is None
    assert c.next_deadline() == 12.0
    payload = c.tick(12.0)
    assert payload is not None and payload.press == PressType.LONG and not payload.test
    assert c.tick(13.0) is None
    assert c.up(14.0) is None


def test_release_after_the_threshold_without_a_tick_still_fires() -> None:
    c = PressClassifier(long_press_s=2.0)
    c.down(0.0)
    payload = c.up(2.5)
    assert payload is not None and not payload.test


def test_three_quick_short_presses_are_a_test_press_after_the_window() -> None:
    c = PressClassifier(test_presses=3, window_s=1.0)
    for t in (0.0, 0.4, 0.8):
        c.down(t)
        assert c.up(t + 0.1) is None
    assert c.tick(1.5) is None  # the window after the last press is still open
    payload = c.tick(2.0)
    assert payload is not None and payload.test and payload.press == PressType.TRIPLE


def test_other_counts_of_short_presses_do_nothing() -> None:
    for count in (1, 2, 4):
        c = PressClassifier(test_presses=3, window_s=1.0)
        for i in range(count):
            c.short(i * 0.3)
        assert c.tick(10.0) is None


def test_slow_presses_do_not_make_a_pattern() -> None:
    c = PressClassifier(test_presses=3, window_s=1.0)
    c.short(0.0)
    assert c.tick(1.2) is None
    c.short(1.5)
    c.short(1.8)
    assert c.tick(3.0) is None


async def lines(*items: str) -> AsyncIterator[str]:
    for item in items:
        yield item


async def test_line_source_long_and_short_lines() -> None:
    sink = ListSink()
    now = [0.0]
    button = LocalButton(
        sink=sink,
        device="wired",
        classifier=PressClassifier(test_presses=3, window_s=0.05),
        clock=lambda: now[0],
    )
    await button.run(lines("long\n", "bogus\n", "\n", "short\n", "short\n"))
    assert len(sink.events) == 1  # the source ended before the pattern window closed
    (event,) = sink.events
    assert isinstance(event, PanicEvent)
    assert event.payload.source == "local" and not event.payload.test
    assert event.device == "wired"


async def test_line_source_test_pattern_with_real_time() -> None:
    sink = ListSink()
    button = LocalButton(
        sink=sink, device="wired", classifier=PressClassifier(test_presses=3, window_s=0.05)
    )

    async def source() -> AsyncIterator[str]:
        for _ in range(3):
            yield "down"
            yield "up"
        import asyncio

        await asyncio.sleep(0.2)  # the window closes while the source is quiet

    await button.run(source())
    (event,) = sink.events
    assert isinstance(event, PanicEvent)
    assert event.payload.test


async def test_gpio_edges_held_fire_a_panic_before_release() -> None:
    import asyncio

    sink = ListSink()
    button = LocalButton(sink=sink, device="wired", classifier=PressClassifier(long_press_s=0.05))

    async def source() -> AsyncIterator[str]:
        yield "1"
        await asyncio.sleep(0.2)
        assert len(sink.events) == 1  # fired while held
        yield "0"

    await button.run(source())
    assert len(sink.events) == 1
