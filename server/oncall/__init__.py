"""Who is on duty (teams, shifts, backups, overrides) and the escalation policies that call them."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlmodel import Session, col, select

from server.alerts import hooks as alert_hooks
from server.alerts.models import Alert, AlertEvent
from server.notify import sender
from server.notify.models import Notification
from server.notify.service import mask_recipient
from server.realtime import mark_changed


def _start_chain(session: Session, alert: Alert) -> None:
    from server.oncall.escalation import start_escalation

    start_escalation(
        session,
        alert_id=alert.id,
        priority=alert.priority.value,
        created_at=alert.created_at,
        test=alert.test,
    )


def _chain_owns_phone(session: Session, alert_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
    """An alert with an on-call chain (running or run out) is called and texted by the
    chain alone; the alerts' own policy keeps only its console steps for it."""
    from server.oncall.models import AlertEscalation

    return set(
        session.exec(
            select(AlertEscalation.alert_id).where(col(AlertEscalation.alert_id).in_(alert_ids))
        ).all()
    )


def _failed_on_timeline(session: Session, row: Notification) -> None:
    """A message about an alert that could not be sent says so on the alert's timeline."""
    if row.subject != "alert" or row.subject_id is None:
        return
    session.add(
        AlertEvent(
            alert_id=row.subject_id,
            action=f"{row.channel.value}_failed",
            note_key=f"notify.timeline.{row.channel.value}_failed",
            params={"to": mask_recipient(row.to), "attempts": row.attempts},
        )
    )
    mark_changed(session, row.subject_id)


def install() -> None:
    """Starts each new alert's chain, makes the chain the one owner of its phone escalation,
    and puts failed messages on timelines (idempotent)."""
    alert_hooks.on_opened(_start_chain)
    alert_hooks.on_phone_owned(_chain_owns_phone)
    sender.on_failed(_failed_on_timeline)
