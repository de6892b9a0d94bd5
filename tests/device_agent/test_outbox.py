"""The durable outbox: order, acks, duplicates, dead letters, persistence."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from device_agent.outbox import Outbox
from eldercare_protocol import EVENT_ADAPTER
from tests.support.events import fall_event, panic_event, spo2_event


@pytest.fixture
async def outbox(tmp_path: Path):  # type: ignore[no-untyped-def]
    box = Outbox(tmp_path / "outbox.sqlite3")
    yield box
    await box.close()


async def test_urgent_first_then_oldest_first(outbox: Outbox) -> None:
    r1, r2 = spo2_event(90), spo2_event(91)
    p1 = panic_event()
    r3 = spo2_event(92)
    f1 = fall_event()
    for event in (r1, r2, p1, r3, f1):
        await outbox.emit(event)
    batch = await outbox.peek_batch(10)
    assert [e.id for e in batch] == [str(x.id) for x in (p1, f1, r1, r2, r3)]
    assert [e.kind for e in batch[:2]] == ["panic", "fall"]
    assert [e.id for e in await outbox.peek_batch(2)] == [str(p1.id), str(f1.id)]


async def test_peek_does_not_remove_and_respects_exclude(outbox: Outbox) -> None:
    events = [spo2_event(90 + i) for i in range(5)]
    await outbox.emit_many(events)
    first = await outbox.peek_batch(2)
    again = await outbox.peek_batch(2)
    assert [e.id for e in first] == [e.id for e in again]
    rest = await outbox.peek_batch(10, exclude={e.id for e in first})
    assert [e.id for e in rest] == [str(e.id) for e in events[2:]]
    assert await outbox.peek_batch(10, urgent_only=True) == []


async def test_body_is_the_event_json(outbox: Outbox) -> None:
    event = spo2_event(88)
    await outbox.emit(event)
    (stored,) = await outbox.peek_batch(1)
    assert EVENT_ADAPTER.validate_json(stored.body) == event


async def test_ack_deletes_exactly_the_acked_ids(outbox: Outbox) -> None:
    events = [spo2_event(90 + i) for i in range(4)]
    await outbox.emit_many(events)
    deleted = await outbox.ack([str(events[1].id), str(events[3].id), "not-an-id"])
    assert deleted == 2
    assert [e.id for e in await outbox.peek_batch(10)] == [str(events[0].id), str(events[2].id)]
    assert await outbox.depth() == 2
    assert await outbox.ack([]) == 0


async def test_duplicate_emit_is_stored_once_in_its_first_place(outbox: Outbox) -> None:
    a, b = spo2_event(90), spo2_event(91)
    await outbox.emit(a)
    await outbox.emit(b)
    await outbox.emit(a)
    await outbox.emit_many([a, b, a])
    assert [e.id for e in await outbox.peek_batch(10)] == [str(a.id), str(b.id)]


async def test_concurrent_emits_are_all_stored_in_emit_order(outbox: Outbox) -> None:
    events = [spo2_event(80 + i % 20) for i in range(300)]
    await asyncio.gather(*(outbox.emit(e) for e in events))
    assert await outbox.depth() == 300
    assert [e.id for e in await outbox.peek_batch(300)] == [str(e.id) for e in events]


async def test_dead_letter_keeps_the_event_and_it_is_never_queued_again(outbox: Outbox) -> None:
    bad, good = spo2_event(90), spo2_event(91)
    await outbox.emit_many([bad, good])
    assert await outbox.dead_letter(str(bad.id), reason="invalid_event: nope")
    assert not await outbox.dead_letter(str(bad.id), reason="again")
    await outbox.emit(bad)  # a producer retrying the same id
    assert [e.id for e in await outbox.peek_batch(10)] == [str(good.id)]
    (dead,) = await outbox.dead_letters()
    assert dead.id == str(bad.id)
    assert dead.reason.startswith("invalid_event")
    assert EVENT_ADAPTER.validate_json(dead.body) == bad


async def test_survives_reopen_with_order_and_settings(tmp_path: Path) -> None:
    path = tmp_path / "box.sqlite3"
    box = Outbox(path)
    r1, p1, r2 = spo2_event(90), panic_event(), spo2_event(91)
    for event in (r1, p1, r2):
        await box.emit(event)
    await box.ack([str(r1.id)])
    await box.close()

    box = Outbox(path)
    try:
        r3 = spo2_event(92)
        await box.emit(r3)
        assert [e.id for e in await box.peek_batch(10)] == [str(p1.id), str(r2.id), str(r3.id)]
    finally:
        await box.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


async def test_emit_after_close_is_refused(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "box.sqlite3")
    await box.close()
    with pytest.raises(RuntimeError, match="closed"):
        await box.emit(spo2_event())


async def test_listeners_hear_kind_and_priority(outbox: Outbox) -> None:
    heard: list[tuple[str, int]] = []
    outbox.add_listener(lambda kind, priority: heard.append((kind, priority)))
    await outbox.emit(spo2_event())
    await outbox.emit(panic_event())
    assert heard == [("vitals", 1), ("panic", 0)]
