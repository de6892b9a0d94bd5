"""The consoles of a process share one read of each change: one query per locale, one frame,
an audit row for every person shown a new elder, and no frame older than a console's
snapshot."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Callable, Collection, Iterable
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from server.alerts.lifecycle import Action
from server.alerts.service import transition
from server.alerts.ui import feed as feed_module
from server.alerts.ui.feed import MAX_FRAMES, Console, console_counts, feed_for
from server.audit.models import AuditEntry
from server.auth.models import Role, User
from server.i18n import Locale
from server.realtime import RESYNC, hub_for, hub_key
from server.realtime.hub import MAX_PENDING, Hub
from tests.support.alerts import raise_panic_alert
from tests.support.records import make_elder


def _audited(engine: Engine, elder_id: uuid.UUID) -> list[uuid.UUID]:
    # Not the test's session: expiring it would expire the consoles' users, which the feed
    # reads in a worker thread while this polls (the feed's audit then failed).
    with Session(engine) as reader:
        rows = reader.exec(
            select(AuditEntry.actor_id).where(
                AuditEntry.entity == "console", col(AuditEntry.elder_id) == elder_id
            )
        ).all()
    return sorted(r for r in rows if r is not None)


def _ready(console: Console) -> None:
    """As the socket does once its first snapshot is sent."""
    console.resync = False


async def _until(check: Callable[[], bool], seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not within the time allowed")


async def test_one_read_per_locale_for_every_console_and_each_person_audited_once(
    session: Session,
    engine: Engine,
    make_user: Callable[..., User],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    elder = make_elder(session)
    alert_id = raise_panic_alert(session, elder.id).alert_id
    reads: list[set[Locale]] = []
    real_read = feed_module._read_changed

    def counted(
        engine: Engine, *, ids: Collection[uuid.UUID], locales: Iterable[Locale]
    ) -> dict[Locale, Any]:
        reads.append(set(locales))
        return real_read(engine, ids=ids, locales=locales)

    monkeypatch.setattr(feed_module, "_read_changed", counted)
    feed = feed_for(engine)
    thai = [Console(user=make_user(Role.DISPATCHER), locale="th") for _ in range(5)]
    english = Console(user=make_user(Role.SUPERVISOR), locale="en")
    consoles = [*thai, english]
    for console in consoles:
        feed.join(console)
        _ready(console)
    try:
        # A burst of notices for one alert, from another thread as a commit hook sends them.
        hub = hub_for(hub_key(engine))
        threading.Thread(target=hub.publish, args=([str(alert_id)] * 3,)).start()
        await _until(lambda: all(c.frames for c in consoles))
        assert reads == [{"th", "en"}]
        assert console_counts(engine) == (6, 6)
        frames = {c.frames.popleft() for c in thai}
        assert len(frames) == 1  # one rendering for every Thai console
        (frame,) = frames
        assert [a["id"] for a in json.loads(frame)["alerts"]] == [str(alert_id)]
        assert json.loads(english.frames.popleft())["alerts"][0]["id"] == str(alert_id)
        # Written just after the frames were queued.
        await _until(lambda: _audited(engine, elder.id) == sorted(c.user.id for c in consoles))

        # The same elder again: shown, not audited twice on one connection.
        hub.publish([str(alert_id)])
        await _until(lambda: all(c.frames for c in consoles))
        assert len(reads) == 2
        assert len(_audited(engine, elder.id)) == len(consoles)
    finally:
        for console in consoles:
            await feed.leave(console)
    assert console_counts(engine) == (0, 0)
    assert hub_for(hub_key(engine)).subscribers == 0


async def test_an_elder_leaves_a_console_with_their_last_open_alert(
    session: Session, engine: Engine, users: dict[Role, User], make_user: Callable[..., User]
) -> None:
    """So a console open for weeks holds the queue's elders, not every elder it ever showed;
    and the next emergency of the same elder is a new showing, audited again."""
    elder = make_elder(session)
    feed = feed_for(engine)
    console = Console(user=make_user(Role.DISPATCHER), locale="th")
    feed.join(console)
    _ready(console)
    hub = hub_for(hub_key(engine))
    try:
        first = raise_panic_alert(session, elder.id).alert_id
        hub.publish([str(first)])
        await _until(lambda: bool(console.frames))
        assert console.seen == {elder.id}
        transition(session, alert_id=first, action=Action.FALSE_ALARM,
                   actor=users[Role.DISPATCHER], note="กดผิด")  # fmt: skip
        session.commit()
        hub.publish([str(first)])
        await _until(lambda: len(console.frames) == 2)
        assert json.loads(console.frames[1])["closed"] == [str(first)]
        assert console.seen == set()

        second = raise_panic_alert(session, elder.id).alert_id
        hub.publish([str(second)])
        await _until(lambda: len(console.frames) == 3)
        assert console.seen == {elder.id}
        await _until(lambda: _audited(engine, elder.id) == [console.user.id] * 2)
    finally:
        await feed.leave(console)


async def test_the_frame_does_not_wait_for_the_audit_and_a_failed_audit_means_a_snapshot(
    session: Session,
    engine: Engine,
    make_user: Callable[..., User],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The press reaches the screen before the audit row is written; if that write fails, the
    console is given a snapshot, and a snapshot audits every elder it shows."""
    elder = make_elder(session)
    alert_id = raise_panic_alert(session, elder.id).alert_id
    feed = feed_for(engine)
    console = Console(user=make_user(Role.DISPATCHER), locale="th")
    writing = threading.Event()
    release = threading.Event()

    def slow_then_failing(engine: Engine, reads: list[tuple[User, list[uuid.UUID]]]) -> None:
        writing.set()
        release.wait(10)
        raise OperationalError("INSERT INTO audit_log", {}, Exception("database went away"))

    monkeypatch.setattr(feed_module, "_record_shown", slow_then_failing)
    feed.join(console)
    _ready(console)
    try:
        hub_for(hub_key(engine)).publish([str(alert_id)])
        await _until(lambda: bool(console.frames))
        await _until(writing.is_set)  # the frame was queued; the audit write is still held
        assert [a["id"] for a in json.loads(console.frames[0])["alerts"]] == [str(alert_id)]
        assert not console.resync and _audited(engine, elder.id) == []
        release.set()
        await _until(lambda: console.resync)
        assert not console.frames
        _, shown = await asyncio.to_thread(
            feed_module.snapshot, engine, locale="th", user=console.user
        )
        assert elder.id in shown.values()
        assert _audited(engine, elder.id) == [console.user.id]
    finally:
        release.set()
        await feed.leave(console)


async def test_a_missed_change_or_a_console_that_falls_behind_gets_a_snapshot(
    session: Session, engine: Engine, make_user: Callable[..., User]
) -> None:
    feed = feed_for(engine)
    console = Console(user=make_user(Role.DISPATCHER), locale="th")
    feed.join(console)
    _ready(console)
    try:
        hub_for(hub_key(engine)).publish([RESYNC])
        await _until(lambda: console.resync)
        console.resync = False
        for i in range(MAX_FRAMES):
            console.push(f"frame {i}")
        assert not console.resync and len(console.frames) == MAX_FRAMES
        console.push("one too many")
        assert console.resync and not console.frames
    finally:
        await feed.leave(console)


async def test_the_hub_keeps_a_burst_as_one_set_per_subscriber() -> None:
    hub = Hub()
    subs = [hub.subscribe() for _ in range(3)]
    same = str(uuid.uuid4())

    def burst() -> None:
        for _ in range(500):
            hub.publish([same])

    publisher = threading.Thread(target=burst)
    publisher.start()
    await asyncio.to_thread(publisher.join)
    assert [await asyncio.wait_for(sub.wait(), 5) for sub in subs] == [{same}] * 3
    assert hub.queued == 0

    many = [str(uuid.uuid4()) for _ in range(MAX_PENDING + 1)]
    hub.publish(many[:10])
    hub.publish(many[10:])
    assert await asyncio.wait_for(subs[0].wait(), 5) == {RESYNC}
    hub.publish([same])  # after a resync, notices are named again
    assert await asyncio.wait_for(subs[0].wait(), 5) == {same}
