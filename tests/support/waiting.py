"""Waiting on a condition instead of sleeping and hoping: a test that waits for what it needs
is neither slow on a quiet machine nor flaky on a busy one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

POLL_S = 0.01


def wait_until(check: Callable[[], bool], *, within: float = 10.0) -> None:
    """Block until ``check()`` holds; fail the test if it does not within ``within`` s."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(POLL_S)


async def wait_until_async(check: Callable[[], bool], *, within: float = 10.0) -> None:
    """``wait_until`` for async tests: the event loop keeps running while it waits."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(POLL_S)
