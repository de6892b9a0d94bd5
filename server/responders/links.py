"""Issuing a responder's link when an alert is dispatched (called inside the dispatch).

The token is 32 random bytes (unguessable; only its hash is stored), single-use (spent once
the job is handed over, or when a new dispatch replaces it) and expiring. The SMS carries the
address, a map link and the access notes; never a condition or a reading.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, col

from server.alerts.models import Alert, Responder
from server.common.time import utcnow
from server.elders.models import Elder
from server.notify import get_notifier
from server.responders.models import ResponderLink

LINK_HOURS = 12
NO_SYNC = {"synchronize_session": False}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def map_link(elder: Elder) -> str:
    if elder.latitude is not None and elder.longitude is not None:
        return f"https://maps.google.com/?q={elder.latitude:.6f},{elder.longitude:.6f}"
    return "https://maps.google.com/?q=" + "+".join(f"{elder.address} {elder.community}".split())


def issue_link(session: Session, *, alert: Alert, responder: Responder) -> str:
    """A new link for this dispatch (earlier links of the alert are spent); queues the SMS."""
    now = utcnow()
    session.execute(
        sa.update(ResponderLink)
        .where(col(ResponderLink.alert_id) == alert.id, col(ResponderLink.used_at).is_(None))
        .values(used_at=now),
        execution_options=NO_SYNC,
    )
    token = secrets.token_urlsafe(32)
    session.add(
        ResponderLink(
            token_hash=token_hash(token),
            alert_id=alert.id,
            responder_id=responder.id,
            expires_at=now + timedelta(hours=LINK_HOURS),
        )
    )
    elder = session.get(Elder, alert.elder_id)
    if responder.phone and elder is not None:
        get_notifier().send_sms(
            session,
            to=responder.phone,
            template_key="notify.responder.dispatched",
            params={
                "name": f"{elder.first_name} {elder.last_name}",
                "address": f"{elder.address} {elder.community}",
                "map": map_link(elder),
                "notes": elder.access_notes or "-",
                "token": token,
            },
            subject="alert",
            subject_id=alert.id,
        )
    return token


def on_dispatched(session: Session, alert: Alert, responder: Responder) -> None:
    issue_link(session, alert=alert, responder=responder)
