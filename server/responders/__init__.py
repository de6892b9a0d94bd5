"""The responder's closed loop: a link by SMS to a small mobile page that stamps each stage."""

from __future__ import annotations

from server.alerts import hooks as alert_hooks


def install() -> None:
    """A dispatch texts the responder their link (idempotent)."""
    from server.responders.links import on_dispatched

    alert_hooks.on_dispatched(on_dispatched)
