"""A hub whose disk fills up: panics still go out, kept in memory until the server acks them,
and everything waiting is written to disk once there is room again.

The outbox lives on a real tmpfs of 1 MiB filled to the last byte (ENOSPC from the kernel, not
a mock), so this needs root to mount; elsewhere it skips with the reason.
"""

from __future__ import annotations

import contextlib
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from device_agent.clock import utc_now
from device_agent.outbox import Outbox
from eldercare_protocol import (
    Measurement,
    MeasurementCode,
    PanicEvent,
    PanicPayload,
    VitalsEvent,
    VitalsPayload,
)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"!!! SKIPPED — cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True, check=False)


def fill(disk: Path) -> None:
    with contextlib.suppress(OSError), (disk / "filler").open("wb") as f:
        while True:
            f.write(b"\0" * 4096)
            f.flush()


def reading() -> VitalsEvent:
    return VitalsEvent(
        id=uuid.uuid4(),
        device="AA:BB:CC:00:00:01",
        occurred_at=utc_now(),
        payload=VitalsPayload(
            measurements=[Measurement(code=MeasurementCode.SPO2, value=97, unit="%")],
            raw_hex="00" * 400,
        ),
    )


def panic() -> PanicEvent:
    return PanicEvent(
        id=uuid.uuid4(),
        device="button",
        occurred_at=utc_now(),
        payload=PanicPayload(source="simulated"),
    )


async def test_a_full_disk_keeps_events_in_memory_and_writes_them_once_there_is_room(
    small_disk: Path,
) -> None:
    outbox = Outbox(small_disk / "outbox.sqlite3")
    try:
        stored_before = reading()
        await outbox.emit(stored_before)
        fill(small_disk)
        readings = []
        # The WAL may still have room for a few pages: write until the disk says no.
        for _ in range(200):
            event = reading()
            await outbox.emit(event)  # never raises: kept in memory if not on disk
            readings.append(event)
            if outbox.storage_problem is not None:
                break
        assert outbox.storage_problem == "disk full"
        press = panic()
        await outbox.emit(press)
        batch = await outbox.peek_batch(5)
        assert batch[0].id == str(press.id), "the panic goes first, from memory"
        assert await outbox.depth() == 1 + len(readings) + 1
        assert await outbox.urgent_depth() == 1

        # The server acks the panic and the reading stored before: both are gone for good,
        # though the disk could not delete the stored row yet.
        assert await outbox.ack([str(press.id), str(stored_before.id)]) == 2
        ids = {e.id for e in await outbox.peek_batch(500)}
        assert str(press.id) not in ids and str(stored_before.id) not in ids
        assert await outbox.depth() == len(readings)

        (small_disk / "filler").unlink()
        await outbox.emit(reading())  # the next write finds room and takes the memory too
        assert outbox.storage_problem is None
    finally:
        await outbox.close()

    # Durable again: a fresh process sees exactly what was not acked.
    reopened = Outbox(small_disk / "outbox.sqlite3")
    try:
        ids = {e.id for e in await reopened.peek_batch(500)}
        assert {str(e.id) for e in readings} <= ids
        assert str(press.id) not in ids and str(stored_before.id) not in ids
        assert await reopened.depth() == len(readings) + 1
    finally:
        await reopened.close()


async def test_a_hub_restarted_with_its_disk_full_still_sends_panics(small_disk: Path) -> None:
    path = small_disk / "outbox.sqlite3"
    first = Outbox(path)
    queued = reading()
    await first.emit(queued)
    await first.close()  # a clean stop removes the WAL: reopening must create it again
    fill(small_disk)

    outbox = Outbox(path)  # must not raise: the panic button has to work
    try:
        # SQLite says "I/O error" when it cannot create the WAL's index file.
        assert outbox.storage_problem in ("disk full", "disk I/O error")
        press = panic()
        await outbox.emit(press)
        assert [e.id for e in await outbox.peek_batch(5)] == [str(press.id)]
        assert await outbox.ack([str(press.id)]) == 1
        later = reading()
        await outbox.emit(later)

        (small_disk / "filler").unlink()
        outbox._next_retry = 0.0  # the next read tries the disk at once
        ids = [e.id for e in await outbox.peek_batch(5)]
        assert outbox.storage_problem is None
        # What was queued before the restart is back, and what came meanwhile is kept.
        assert ids == [str(queued.id), str(later.id)]
    finally:
        await outbox.close()
    reopened = Outbox(path)
    try:
        assert await reopened.depth() == 2
    finally:
        await reopened.close()
