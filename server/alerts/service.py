"""Raising alerts, moving them through their lifecycle, and clearing device problems.

Every function adds to the caller's session and leaves the commit to the caller; once it
commits, every console hears of the change (`server.realtime`). State changes are
conditional UPDATEs (`... WHERE status = <expected>`), never read-then-write, so two
dispatchers pressing at once cannot both win.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

import triage
from server.alerts import hooks
from server.alerts.config import alert_settings
from server.alerts.lifecycle import TRANSITIONS, Action
from server.alerts.models import (
    CLOSED_STATUSES,
    MAINTENANCE_KINDS,
    OPEN_STATUSES,
    Alert,
    AlertEvent,
    AlertKind,
    AlertStatus,
    AlertTimer,
    Responder,
    ResponderStatus,
)
from server.alerts.policy import Policy
from server.alerts.timers import timers_written
from server.auth.models import User
from server.common.time import utcnow
from server.db import updated_one
from server.elders.models import Elder, EmergencyContact
from server.errors import ApiError, from_integrity_error
from server.notify.line import message_contact
from server.realtime import mark_changed, mark_many_changed
from server.telemetry import instruments as metrics

# Plain UPDATEs: the ORM need not scan the identity map for matching objects (which made
# a batch of N timers cost N²); rows are re-read with populate_existing where needed.
NO_SYNC = {"synchronize_session": False}

ParamValue = str | int | float


@dataclass(frozen=True)
class RaisedAlert:
    alert_id: uuid.UUID
    created: bool  # a new alert was opened
    joined: bool  # the event joined an open alert ("pressed again")


def _lock_elder(session: Session, elder_id: uuid.UUID) -> None:
    """Serialises raises for one home on PostgreSQL, so two presses cannot both open one."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"alerts:{elder_id}"},
        )


def _joinable(
    session: Session,
    *,
    elder_id: uuid.UUID,
    kind: AlertKind,
    test: bool,
    device_id: uuid.UUID | None,
    now: datetime,
    policy: Policy,
) -> Alert | None:
    query = select(Alert).where(
        Alert.elder_id == elder_id,
        Alert.kind == kind,
        Alert.test == test,
        col(Alert.status).in_(OPEN_STATUSES),
    )
    if kind in MAINTENANCE_KINDS:
        # One open problem per device, however long it lasts.
        query = query.where(Alert.device_id == device_id)
    else:
        window = timedelta(seconds=policy.join_window_seconds)
        query = query.where(Alert.last_pressed_at >= now - window)
    return session.exec(query.order_by(col(Alert.created_at).desc()).limit(1)).first()


def _elder_name(elder: Elder) -> str:
    return f"{elder.title or ''}{elder.first_name} {elder.last_name}"


def _notify_family(session: Session, *, alert: Alert, template_key: str) -> None:
    """No health data: only that an alert was raised (or closed) and the team responds."""
    elder = session.get(Elder, alert.elder_id)
    if elder is None:
        return
    contacts = session.exec(
        select(EmergencyContact).where(
            EmergencyContact.elder_id == alert.elder_id,
            col(EmergencyContact.notify_on_alerts).is_(True),
        )
    ).all()
    for contact in contacts:
        # LINE for a contact who linked an account (SMS if it fails), SMS otherwise.
        message_contact(
            session,
            contact=contact,
            template_key=template_key,
            params={"name": _elder_name(elder)},
            subject="alert",
            subject_id=alert.id,
        )


def _family_hears(alert: Alert, policy: Policy) -> bool:
    return not alert.test and alert.priority in policy.family_priorities


def raise_alert(
    session: Session,
    *,
    elder_id: uuid.UUID,
    kind: AlertKind,
    priority: triage.Priority,
    reasons: Sequence[triage.Reason],
    risk: float = 0.0,
    test: bool = False,
    source_event_id: uuid.UUID | None = None,
    observation_id: uuid.UUID | None = None,
    device_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
) -> RaisedAlert:
    """Opens an alert, or joins the open one from the same home (a repeated press).

    Idempotent on `source_event_id`: a re-sent event returns its alert and changes nothing.
    Creates the alert's timers from the escalation policy. The caller commits.
    """
    kind = AlertKind(kind)
    priority = triage.Priority(priority)
    now = utcnow()
    policy = alert_settings().policy
    if source_event_id is not None:
        seen = session.exec(
            select(AlertEvent.alert_id).where(AlertEvent.source_event_id == source_event_id)
        ).first()
        if seen is not None:
            return RaisedAlert(alert_id=seen, created=False, joined=False)
    _lock_elder(session, elder_id)
    reason_dumps = [r.model_dump() for r in reasons]
    existing = _joinable(
        session,
        elder_id=elder_id,
        kind=kind,
        test=test,
        device_id=device_id,
        now=now,
        policy=policy,
    )
    if existing is not None:
        _join_open(
            session, _OpenAlert.of(existing), kind=kind, priority=priority, reasons=reason_dumps,
            source_event_id=source_event_id, now=now,
        )  # fmt: skip
        return RaisedAlert(alert_id=existing.id, created=False, joined=True)
    alert = _open_new(
        session, elder_id=elder_id, kind=kind, priority=priority, reasons=reason_dumps,
        risk=risk, test=test, source_event_id=source_event_id, observation_id=observation_id,
        device_id=device_id, occurred_at=occurred_at or now, now=now, policy=policy,
    )  # fmt: skip
    _schedule_timers(session, alert, policy=policy, now=now)
    hooks.check_wired()
    for hook in hooks.opened:  # e.g. the on-call chain, with the policy in force copied
        hook(session, alert)
    if _family_hears(alert, policy):
        _notify_family(session, alert=alert, template_key="notify.family.alert_opened")
    mark_changed(session, alert.id)
    return RaisedAlert(alert_id=alert.id, created=True, joined=False)


@dataclass(frozen=True)
class AlertRequest:
    """One event that may open an alert, or join the open one (the arguments of
    `raise_alert`, for `raise_alerts`)."""

    elder_id: uuid.UUID
    kind: AlertKind
    priority: triage.Priority
    reasons: Sequence[triage.Reason]
    risk: float = 0.0
    test: bool = False
    source_event_id: uuid.UUID | None = None
    observation_id: uuid.UUID | None = None
    device_id: uuid.UUID | None = None
    occurred_at: datetime | None = None


def raise_alerts(session: Session, requests: Sequence[AlertRequest]) -> list[RaisedAlert]:
    """`raise_alert` for many events at once (the abnormal readings of a batch), with the
    same result as calling it for each in order: a re-sent event returns its alert, an
    event joins the open alert of its home (one opened earlier in the batch included),
    otherwise it opens one.

    The lookups are one statement each for the whole batch (events already seen, the
    homes' locks, their open alerts) instead of one each per event; opening an alert is
    as in `raise_alert`. Not for device-problem kinds (they join by device). The caller
    commits.
    """
    if not requests:
        return []
    if any(AlertKind(r.kind) in MAINTENANCE_KINDS for r in requests):
        raise ValueError("raise_alerts is for events, not device problems")
    now = utcnow()
    policy = alert_settings().policy
    sources = [r.source_event_id for r in requests if r.source_event_id is not None]
    seen: dict[uuid.UUID, uuid.UUID] = {}
    if sources:
        rows = session.execute(
            sa.select(col(AlertEvent.source_event_id), col(AlertEvent.alert_id)).where(
                col(AlertEvent.source_event_id).in_(sources)
            )
        ).all()
        seen = {source: alert_id for source, alert_id in rows if source is not None}
    elders = sorted({r.elder_id for r in requests}, key=str)
    if session.get_bind().dialect.name == "postgresql":
        # In one order, so two processes raising for overlapping homes cannot deadlock.
        session.execute(
            sa.text(
                "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) "
                "FROM unnest(CAST(:keys AS text[])) WITH ORDINALITY AS t(k, n) ORDER BY n"
            ),
            {"keys": [f"alerts:{e}" for e in elders]},
        )
    window = timedelta(seconds=policy.join_window_seconds)
    open_by_key: dict[tuple[uuid.UUID, AlertKind, bool], _OpenAlert] = {}
    for alert in session.exec(
        select(Alert)
        .where(
            col(Alert.elder_id).in_(elders),
            col(Alert.kind).in_({AlertKind(r.kind) for r in requests}),
            col(Alert.status).in_(OPEN_STATUSES),
            Alert.last_pressed_at >= now - window,
        )
        .order_by(col(Alert.created_at).desc())
    ).all():
        open_by_key.setdefault((alert.elder_id, alert.kind, alert.test), _OpenAlert.of(alert))
    results: list[RaisedAlert] = []
    changed: set[uuid.UUID] = set()
    for request in requests:
        kind = AlertKind(request.kind)
        priority = triage.Priority(request.priority)
        source = request.source_event_id
        if source is not None and source in seen:
            results.append(RaisedAlert(alert_id=seen[source], created=False, joined=False))
            continue
        reason_dumps = [r.model_dump() for r in request.reasons]
        key = (request.elder_id, kind, request.test)
        existing = open_by_key.get(key)
        if existing is not None:
            _join_open(
                session, existing, kind=kind, priority=priority, reasons=reason_dumps,
                source_event_id=source, now=now, mark=False,
            )  # fmt: skip
            open_by_key[key] = existing.joined(priority)
            result = RaisedAlert(alert_id=existing.id, created=False, joined=True)
        else:
            alert = _open_new(
                session, elder_id=request.elder_id, kind=kind, priority=priority,
                reasons=reason_dumps, risk=request.risk, test=request.test,
                source_event_id=source, observation_id=request.observation_id,
                device_id=request.device_id, occurred_at=request.occurred_at or now, now=now,
                policy=policy,
            )  # fmt: skip
            _schedule_timers(session, alert, policy=policy, now=now)
            hooks.check_wired()
            for hook in hooks.opened:
                hook(session, alert)
            if _family_hears(alert, policy):
                _notify_family(session, alert=alert, template_key="notify.family.alert_opened")
            open_by_key[key] = _OpenAlert.of(alert)
            result = RaisedAlert(alert_id=alert.id, created=True, joined=False)
        if source is not None:
            seen[source] = result.alert_id
        changed.add(result.alert_id)
        results.append(result)
    mark_many_changed(session, changed)
    return results


@dataclass(frozen=True)
class _OpenAlert:
    """What joining an open alert needs to know of it."""

    id: uuid.UUID
    press_count: int
    priority: triage.Priority

    @classmethod
    def of(cls, alert: Alert) -> _OpenAlert:
        return cls(alert.id, alert.press_count, triage.Priority(alert.priority))

    def joined(self, priority: triage.Priority) -> _OpenAlert:
        more = priority.more_urgent_than(self.priority)
        return _OpenAlert(self.id, self.press_count + 1, priority if more else self.priority)


def _join_open(
    session: Session,
    existing: _OpenAlert,
    *,
    kind: AlertKind,
    priority: triage.Priority,
    reasons: list[dict[str, Any]],
    source_event_id: uuid.UUID | None,
    now: datetime,
    mark: bool = True,
) -> None:
    """A repeated press: counted on the open alert, which takes the new priority if it is
    more urgent. `existing` is the alert as this transaction last left it (a batch that
    joins it twice carries its count and priority forward in memory)."""
    values: dict[str, Any] = {
        "press_count": Alert.press_count + 1,
        "last_pressed_at": now,
        "version": Alert.version + 1,
    }
    if priority.more_urgent_than(existing.priority):
        values["priority"] = priority
        values["reasons"] = reasons
    session.execute(
        sa.update(Alert).where(col(Alert.id) == existing.id).values(**values),
        execution_options=NO_SYNC,
    )
    session.add(
        AlertEvent(
            alert_id=existing.id,
            at=now,
            action="pressed_again",
            note_key=f"alerts.timeline.repeated.{kind.value}",
            params={"count": existing.press_count + 1},
            source_event_id=source_event_id,
        )
    )
    if mark:
        mark_changed(session, existing.id)


def _open_new(
    session: Session,
    *,
    elder_id: uuid.UUID,
    kind: AlertKind,
    priority: triage.Priority,
    reasons: list[dict[str, Any]],
    risk: float,
    test: bool,
    source_event_id: uuid.UUID | None,
    observation_id: uuid.UUID | None,
    device_id: uuid.UUID | None,
    occurred_at: datetime,
    now: datetime,
    policy: Policy,
) -> Alert:
    """A new alert with its "created" event; RED and YELLOW get a scene-time target."""
    has_target = priority in (triage.Priority.RED, triage.Priority.YELLOW)
    alert = Alert(
        elder_id=elder_id,
        kind=kind,
        priority=priority,
        test=test,
        risk=float(risk),
        reasons=reasons,
        source_event_id=source_event_id,
        observation_id=observation_id,
        device_id=device_id,
        occurred_at=occurred_at,
        created_at=now,
        last_pressed_at=now,
        due_at=now + timedelta(minutes=policy.target_minutes) if has_target else None,
    )
    # Not flushed here: the id is made with the object, and the next flush inserts every
    # alert of a batch in one statement (a flush each was 15 % of the readings projector on
    # PostgreSQL, bench/readings.py).
    session.add(alert)
    session.add(
        AlertEvent(
            alert_id=alert.id,
            at=now,
            action="created",
            to_status=AlertStatus.NEW.value,
            note_key="alerts.timeline.test" if test else None,
            source_event_id=source_event_id,
        )
    )
    return alert


def _schedule_timers(session: Session, alert: Alert, *, policy: Policy, now: datetime) -> None:
    """One timer row per escalation step that applies to the alert's priority."""
    added = False
    for step in policy.steps:
        if alert.priority in step.priorities:
            added = True
            session.add(
                AlertTimer(
                    alert_id=alert.id,
                    step=step.name,
                    due_at=now + timedelta(seconds=step.after_seconds),
                )
            )
    if added:
        timers_written(session)


def _close_side_effects(session: Session, *, alert: Alert, policy: Policy) -> None:
    if alert.responder_id is not None:
        session.execute(
            sa.update(Responder)
            .where(
                col(Responder.id) == alert.responder_id, col(Responder.current_alert_id) == alert.id
            )
            .values(status=ResponderStatus.AVAILABLE, current_alert_id=None),
            execution_options=NO_SYNC,
        )
    if _family_hears(alert, policy):
        _notify_family(session, alert=alert, template_key="notify.family.alert_closed")


def resolve_maintenance_alert(
    session: Session,
    *,
    elder_id: uuid.UUID,
    device_id: uuid.UUID | None,
    kind: AlertKind,
    note_key: str,
    params: dict[str, ParamValue],
) -> uuid.UUID | None:
    """Clears the open device-problem alert (e.g. the hub is back online). The caller commits.

    Returns the alert it resolved, or None if there was none open.
    """
    kind = AlertKind(kind)
    if kind not in MAINTENANCE_KINDS:
        raise ValueError(f"{kind.value} is not a device-problem kind")
    now = utcnow()
    candidates = session.exec(
        select(Alert.id, Alert.status).where(
            Alert.elder_id == elder_id,
            Alert.kind == kind,
            Alert.device_id == device_id,
            col(Alert.status).in_(OPEN_STATUSES),
        )
    ).all()
    for alert_id, status in candidates:
        if not updated_one(
            session,
            sa.update(Alert)
            .where(col(Alert.id) == alert_id, col(Alert.status) == status)
            .values(
                status=AlertStatus.RESOLVED,
                resolved_at=now,
                closed_at=now,
                version=Alert.version + 1,
            ),
            options=NO_SYNC,
        ):
            continue
        session.add(
            AlertEvent(
                alert_id=alert_id,
                at=now,
                action="auto_resolved",
                from_status=str(status),
                to_status=AlertStatus.RESOLVED.value,
                note_key=note_key,
                params=dict(params),
            )
        )
        alert = session.get(Alert, alert_id, populate_existing=True)
        if alert is not None:
            _close_side_effects(session, alert=alert, policy=alert_settings().policy)
        mark_changed(session, alert_id)
        return alert_id
    return None


def _conflict(session: Session, alert_id: uuid.UUID) -> ApiError:
    alert = session.get(Alert, alert_id, populate_existing=True)
    if alert is None:
        return ApiError(404, "not_found", "common.not_found")
    by = session.get(User, alert.acknowledged_by) if alert.acknowledged_by else None
    return ApiError(
        409,
        "alert_state_conflict",
        "alerts.error.conflict",
        extra={
            "status": alert.status.value,
            "acknowledged_by": by.full_name if by else None,
            "version": alert.version,
        },
        status=alert.status.value,
    )


def transition(
    session: Session,
    *,
    alert_id: uuid.UUID,
    action: Action,
    actor: User,
    note: str | None = None,
    responder_id: uuid.UUID | None = None,
) -> Alert:
    """Moves an alert on (409 with the current state if it cannot). The caller commits.

    On SQLite the conditional UPDATE must be the transaction's first statement (a WAL reader
    cannot upgrade to a writer once another has committed), so nothing is read before it.
    """
    rule = TRANSITIONS[action]
    note = note.strip() if note else None
    if rule.needs_reason and not note:
        raise ApiError(422, "reason_required", "alerts.error.reason_required", field="note")
    if rule.needs_responder and responder_id is None:
        raise ApiError(
            422, "responder_required", "alerts.error.responder_required", field="responder_id"
        )
    now = utcnow()
    values: dict[str, Any] = {"status": rule.target, "version": Alert.version + 1}
    if rule.stamp:
        values[rule.stamp] = now
    if rule.target == AlertStatus.ACKNOWLEDGED:
        values["acknowledged_by"] = actor.id
    if rule.target in CLOSED_STATUSES:
        values["closed_at"] = now
        values["closed_by"] = actor.id
        if rule.needs_reason:
            values["close_reason"] = note
    if responder_id is not None and rule.needs_responder:
        values["responder_id"] = responder_id
    came_from: AlertStatus | None = None
    responder: Responder | None = None
    try:
        for source in rule.sources:
            if updated_one(
                session,
                sa.update(Alert)
                .where(col(Alert.id) == alert_id, col(Alert.status) == source)
                .values(**values),
                options=NO_SYNC,
            ):
                came_from = source
                break
    except sa.exc.IntegrityError as exc:
        # A responder id that names no responder: the foreign key refuses it. Caught here
        # rather than looked up first, so the UPDATE stays the transaction's first statement.
        raise from_integrity_error(exc, field="responder_id") from None
    if came_from is None:
        error = _conflict(session, alert_id)
        raise error
    alert = session.get(Alert, alert_id, populate_existing=True)
    assert alert is not None
    if rule.needs_responder:
        responder = session.get(Responder, responder_id)
        if responder is None or not responder.active:
            raise ApiError(404, "responder_not_found", "alerts.error.responder_not_found")
        responder.status = ResponderStatus.BUSY
        responder.current_alert_id = alert.id
        session.add(responder)
        for hook in hooks.dispatched:  # e.g. the responder's SMS with their stage link
            hook(session, alert, responder)
    if rule.target == AlertStatus.ACKNOWLEDGED:
        alert.seconds_to_acknowledge = (now - alert.created_at).total_seconds()
        metrics.observe_acknowledge(str(alert.priority), alert.seconds_to_acknowledge)
        for ack_hook in hooks.acknowledged:  # e.g. the hub says "help is coming"
            ack_hook(session, alert)
    if rule.target == AlertStatus.ON_SCENE:
        alert.seconds_to_on_scene = (now - alert.created_at).total_seconds()
        if alert.due_at is not None and now > alert.due_at:
            alert.sla_breached = True
    session.add(alert)
    session.add(
        AlertEvent(
            alert_id=alert.id,
            at=now,
            action=action.value.replace("-", "_"),
            from_status=came_from.value,
            to_status=rule.target.value,
            actor_id=actor.id,
            actor_name=actor.full_name,
            note=note,
            params={"responder": responder.name} if responder else {},
        )
    )
    if rule.target in CLOSED_STATUSES:
        _close_side_effects(session, alert=alert, policy=alert_settings().policy)
    mark_changed(session, alert.id)
    return alert


def add_note(session: Session, *, alert_id: uuid.UUID, actor: User, note: str) -> AlertEvent:
    if session.get(Alert, alert_id) is None:
        raise ApiError(404, "not_found", "common.not_found")
    event = AlertEvent(
        alert_id=alert_id,
        action="note",
        actor_id=actor.id,
        actor_name=actor.full_name,
        note=note.strip(),
    )
    session.add(event)
    mark_changed(session, alert_id)
    return event
