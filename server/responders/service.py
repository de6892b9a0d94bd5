"""Moving a dispatch on from the responder's phone, in the responder's name."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel import Session, col, select

from server.alerts import service as alerts
from server.alerts.lifecycle import Action
from server.alerts.models import Alert, AlertEvent, Responder
from server.auth.models import Role, User
from server.common.time import utcnow
from server.elders.models import Elder, EmergencyContact
from server.errors import ApiError
from server.notify.line import message_contact
from server.realtime import mark_changed
from server.responders.links import token_hash
from server.responders.models import STAGES, ResponderLink, Stage

# The alert transition each stage makes; "on my way" and "handed over" only stamp.
TRANSITIONS = {Stage.ON_SCENE: Action.ON_SCENE, Stage.TRANSPORTING: Action.TRANSPORT}
FAMILY = {Stage.ON_MY_WAY: "notify.family.on_the_way", Stage.ON_SCENE: "notify.family.arrived"}


class LinkRefused(Exception):
    def __init__(self, reason: str) -> None:  # "invalid" | "expired" | "used"
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LinkView:
    link: ResponderLink
    alert: Alert
    elder: Elder
    responder: Responder

    @property
    def next_stage(self) -> Stage | None:
        for stage in STAGES:
            if getattr(self.link, f"{stage.value}_at") is None:
                return stage
        return None


def open_link(session: Session, token: str, *, for_change: bool = False) -> LinkView:
    link = session.exec(
        select(ResponderLink).where(ResponderLink.token_hash == token_hash(token))
    ).first()
    if link is None:
        raise LinkRefused("invalid")
    if link.expires_at <= utcnow():
        raise LinkRefused("expired")
    if for_change and link.used_at is not None:
        raise LinkRefused("used")
    alert = session.get(Alert, link.alert_id)
    responder = session.get(Responder, link.responder_id)
    elder = session.get(Elder, alert.elder_id) if alert else None
    if alert is None or responder is None or elder is None:
        raise LinkRefused("invalid")
    return LinkView(link, alert, elder, responder)


def _actor(session: Session, responder: Responder) -> User:
    """The responder's login if they have one; otherwise their name, with no account."""
    if responder.user_id is not None:
        user = session.get(User, responder.user_id)
        if user is not None:
            return user
    stand_in = User(username="", full_name=responder.name, role=Role.DISPATCHER, password_hash="")
    stand_in.id = None  # type: ignore[assignment]
    return stand_in


def _family(session: Session, *, alert: Alert, elder: Elder, template_key: str) -> None:
    if alert.test:
        return
    contacts = session.exec(
        select(EmergencyContact).where(
            EmergencyContact.elder_id == elder.id, col(EmergencyContact.notify_on_alerts).is_(True)
        )
    ).all()
    for contact in contacts:
        message_contact(
            session,
            contact=contact,
            template_key=template_key,
            params={"name": f"{elder.first_name} {elder.last_name}"},
            subject="alert",
            subject_id=alert.id,
        )


def advance(session: Session, *, token: str, stage: Stage) -> LinkView:
    """Stamps `stage` (the next one only; a stage already stamped changes nothing)."""
    view = open_link(session, token, for_change=True)
    if view.next_stage != stage:
        return view  # a repeat or an out-of-order press: show the state, change nothing
    link_id, alert_id = view.link.id, view.alert.id
    actor = _actor(session, view.responder)
    action = TRANSITIONS.get(stage)
    if action is not None:
        try:
            # The conditional UPDATE comes first (SQLite: before any other write).
            alerts.transition(session, alert_id=alert_id, action=action, actor=actor)
        except ApiError as exc:
            if exc.status_code != 409:
                raise
            # The console moved it already; the responder's own time is still recorded.
    now = utcnow()
    link = session.get(ResponderLink, link_id, populate_existing=True)
    assert link is not None
    if getattr(link, f"{stage.value}_at") is not None:
        return open_link(session, token)
    setattr(link, f"{stage.value}_at", now)
    if stage == Stage.HANDED_OVER:
        link.used_at = now
    session.add(link)
    if action is None:
        session.add(
            AlertEvent(
                alert_id=alert_id,
                at=now,
                action=f"responder_{stage.value}",
                actor_id=actor.id,
                actor_name=view.responder.name,
                note_key=f"responders.timeline.{stage.value}",
                params={"name": view.responder.name},
            )
        )
    if stage in FAMILY:
        alert = session.get(Alert, alert_id)
        if alert is not None:
            _family(session, alert=alert, elder=view.elder, template_key=FAMILY[stage])
    mark_changed(session, alert_id)
    session.flush()
    return open_link(session, token)


def link_for(session: Session, alert_id: uuid.UUID) -> ResponderLink | None:
    return session.exec(
        select(ResponderLink)
        .where(ResponderLink.alert_id == alert_id)
        .order_by(col(ResponderLink.created_at).desc())
    ).first()
