"""bumble on Python 3.11: waits that cannot lose a cancellation.

Python 3.11's ``asyncio.wait_for`` returns the awaited result when the waiting task is
cancelled in the same loop iteration as that result arrives: the cancellation is lost
(CPython gh-86296; Python 3.12 rebuilt ``wait_for`` on ``asyncio.timeout`` and fixed it).
bumble awaits every HCI command and every GATT request with ``asyncio.wait_for``, and on its
``LocalLink`` every answer is delivered by ``call_soon``, so now and then a driver cancelled
at the wrong moment carries on as if it never was: its ``while True`` loop never ends, and
whatever awaits it (the agent's task group, a test) waits for ever. This was the "rare bumble
connect hang" of the BLE tests.

``patch_bumble`` gives bumble's modules Python 3.12's ``wait_for``; nothing else in the
process is touched. It does nothing on Python 3.12 and later.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable
from types import ModuleType
from typing import Any, TypeVar

_T = TypeVar("_T")

# The bumble modules that call asyncio.wait_for.
_MODULES = ("bumble.host", "bumble.device", "bumble.gatt_client", "bumble.gatt_server")


async def wait_for(awaitable: Awaitable[_T], timeout: float | None) -> _T:  # noqa: ASYNC109
    """``asyncio.wait_for`` as Python 3.12 has it: a cancellation always wins."""
    if timeout is not None and timeout <= 0:
        future = asyncio.ensure_future(awaitable)
        if future.done():
            return future.result()
        future.cancel()
        try:
            return await future
        except asyncio.CancelledError as exc:
            raise TimeoutError from exc
    async with asyncio.timeout(timeout):
        return await awaitable


class _Asyncio:
    """The ``asyncio`` module as bumble sees it: the same, but for ``wait_for``."""

    wait_for = staticmethod(wait_for)

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)


def patch_bumble() -> None:
    if sys.version_info >= (3, 12):
        return
    import importlib

    for name in _MODULES:
        module: ModuleType = importlib.import_module(name)
        if not isinstance(module.asyncio, _Asyncio):
            module.asyncio = _Asyncio()  # type: ignore[attr-defined]
