"""The simulated radio's bumble waits keep a cancellation that comes with their answer.

Python 3.11's asyncio.wait_for loses it, and a driver cancelled at that moment ran on for
ever (the BLE tests' "rare bumble connect hang")."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

import device_agent.ble.bumble_backend  # noqa: F401  (patches bumble on import)

WaitFor = Callable[[asyncio.Future[str], float], Coroutine[Any, Any, str]]


async def _cancel_as_the_answer_arrives(wait_for: WaitFor) -> asyncio.Task[str]:
    answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(wait_for(answer, 10))
    await asyncio.sleep(0)  # the task is waiting
    answer.set_result("response")
    task.cancel()  # in the same loop iteration
    for _ in range(3):
        await asyncio.sleep(0)
    assert task.done()
    return task


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="fixed in Python 3.12")
async def test_python_311_wait_for_loses_such_a_cancellation() -> None:
    task = await _cancel_as_the_answer_arrives(asyncio.wait_for)
    assert not task.cancelled() and task.result() == "response"


@pytest.mark.parametrize("module", ["bumble.host", "bumble.device", "bumble.gatt_client"])
async def test_bumbles_wait_for_keeps_it(module: str) -> None:
    bumble_asyncio = sys.modules[module].asyncio  # type: ignore[attr-defined]
    task = await _cancel_as_the_answer_arrives(bumble_asyncio.wait_for)
    assert task.cancelled()


async def test_bumbles_wait_for_still_times_out_and_answers() -> None:
    import bumble.host

    wait_for = bumble.host.asyncio.wait_for
    never: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    with pytest.raises(TimeoutError):
        await wait_for(never, 0.01)
    answered: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    answered.set_result("ok")
    assert await wait_for(answered, 1) == "ok"


async def test_only_a_stuck_connect_gives_the_failure_the_tests_may_retry() -> None:
    from tests.device_agent.ble.conftest import (
        BUMBLE_CONNECT_HANG,
        BumbleConnectHang,
        simulated_home,
    )

    with pytest.raises(ValueError, match="a regression"):
        async with simulated_home():
            raise ValueError("a regression")
    with pytest.raises(BumbleConnectHang, match=BUMBLE_CONNECT_HANG) as caught:
        async with simulated_home() as home:
            home.radio.stuck_connects = 1
            raise TimeoutError("no reading came")
    assert "TimeoutError: no reading came" in str(caught.value)
