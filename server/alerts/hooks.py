"""Other domains' reactions to an alert's life, registered at start-up.

The on-call chain starts when an alert opens, the responder's link goes out when one is
dispatched, and the elder's hub says "help is coming" when a person acknowledges; both domains build on alerts, so alerts calls them through these lists rather
than importing them. Each hook runs inside the alert's transaction and only adds rows.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Collection

from sqlmodel import Session

from server.alerts.models import Alert, Responder

OpenedHook = Callable[[Session, Alert], None]
DispatchedHook = Callable[[Session, Alert, Responder], None]
# A person acknowledged the alert (at the console, or by a keypress on a call).
AcknowledgedHook = Callable[[Session, Alert], None]
# Which of these alerts have their phone escalation owned by another domain (the on-call
# chain); the alerts' own policy then texts nobody for them and keeps its console steps.
PhoneOwnerHook = Callable[[Session, Collection[uuid.UUID]], set[uuid.UUID]]

log = logging.getLogger(__name__)

opened: list[OpenedHook] = []
dispatched: list[DispatchedHook] = []
phone_owners: list[PhoneOwnerHook] = []
acknowledged: list[AcknowledgedHook] = []
_warned = False


def check_wired() -> None:
    """Says once, loudly, that this process opens alerts with no hook registered: its
    alerts would start no escalation chain (see server.wiring)."""
    global _warned
    if not opened and not _warned:
        _warned = True
        log.warning(
            "alerts: no on-opened hooks are registered in this process; alerts opened here "
            "start no escalation chain (call server.wiring.install_domain_hooks at start-up)"
        )


def on_opened(hook: OpenedHook) -> None:
    if hook not in opened:
        opened.append(hook)


def on_dispatched(hook: DispatchedHook) -> None:
    if hook not in dispatched:
        dispatched.append(hook)


def on_acknowledged(hook: AcknowledgedHook) -> None:
    if hook not in acknowledged:
        acknowledged.append(hook)


def on_phone_owned(hook: PhoneOwnerHook) -> None:
    if hook not in phone_owners:
        phone_owners.append(hook)


def phone_owned(session: Session, alert_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
    """The alerts among `alert_ids` whose calls and SMS another domain makes."""
    owned: set[uuid.UUID] = set()
    if not alert_ids:
        return owned
    for hook in phone_owners:
        owned |= hook(session, alert_ids)
    return owned
