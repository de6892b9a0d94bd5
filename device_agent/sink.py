"""Where everything a hub hears goes first: the durable outbox, behind a small protocol.

BLE drivers, the local button and the simulator only ever call ``emit``; they never talk to
the network. ``emit`` returns once the event is durably stored.
"""

from __future__ import annotations

from typing import Protocol

from eldercare_protocol import Event


class EventSink(Protocol):
    async def emit(self, event: Event) -> None: ...
