"""Other domains' reactions to an alert's life, registered at start-up.

The on-call chain starts when an alert opens and the responder's link goes out when one is
dispatched; both domains build on alerts, so alerts calls them through these lists rather
than importing them. Each hook runs inside the alert's transaction and only adds rows.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session

from server.alerts.models import Alert, Responder

OpenedHook = Callable[[Session, Alert], None]
DispatchedHook = Callable[[Session, Alert, Responder], None]

opened: list[OpenedHook] = []
dispatched: list[DispatchedHook] = []


def on_opened(hook: OpenedHook) -> None:
    if hook not in opened:
        opened.append(hook)


def on_dispatched(hook: DispatchedHook) -> None:
    if hook not in dispatched:
        dispatched.append(hook)
