"""Running an alert's escalation chain: who each step reaches, when, and by what means.

A chain is one row per alert (`alert_escalations`) holding the policy copied when the alert
opened and the next step's due time. A tick claims due rows (`FOR UPDATE SKIP LOCKED` on
PostgreSQL) and advances each with a conditional UPDATE naming the step it expects, so a
step runs once however many processes tick. The step's messages are notification rows
written in the same transaction; the sender loop sends them after the commit.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from server.alerts.models import Alert, AlertEvent, AlertStatus
from server.auth.models import User
from server.common.time import utcnow
from server.elders.models import Elder
from server.notify import get_notifier
from server.notify.models import Notification
from server.oncall.models import AlertEscalation, ChainStatus, Duty
from server.oncall.policies import policy_in_force
from server.oncall.roster import OnDuty, on_duty
from server.oncall.schemas import PolicyBody, StepAction, Target
from server.realtime import mark_changed

log = logging.getLogger(__name__)

NO_SYNC = {"synchronize_session": False}
PROCESS_ID = f"{socket.gethostname()}:{os.getpid()}"[:100]
# Escalation concerns an unacknowledged alert: any other state ends the chain.
CHAIN_STATUSES = frozenset({AlertStatus.NEW})


def _recipients(
    session: Session, target: Target, *, at: datetime, duty: list[OnDuty] | None = None
) -> list[tuple[User, str | None]]:
    duty = duty if duty is not None else on_duty(session, at=at)
    people: dict[uuid.UUID, tuple[User, str | None]] = {}
    if target == Target.DISPATCHER:
        for d in duty:
            if d.duty == Duty.DISPATCHER:
                people.setdefault(d.user.id, (d.user, d.phone))
    elif target == Target.SUPERVISOR:
        for d in duty:
            if d.duty == Duty.SUPERVISOR:
                people.setdefault(d.user.id, (d.user, d.phone))
    elif target == Target.BACKUP:
        for d in duty:
            if d.duty == Duty.DISPATCHER and d.backup is not None:
                people.setdefault(d.backup.id, (d.backup, d.backup.phone))
    else:
        for d in duty:
            people.setdefault(d.user.id, (d.user, d.phone))
    return list(people.values())


def _offset(body: PolicyBody, round_: int, index: int) -> int:
    return body.steps[index].after_seconds + round_ * (body.repeat_after_seconds or 0)


def _following(body: PolicyBody, round_: int, index: int) -> tuple[int, int] | None:
    if index + 1 < len(body.steps):
        return round_, index + 1
    if body.repeat_after_seconds and round_ + 1 < body.max_rounds:
        # A repeat leaves out the at-once steps: the console is already sounding.
        first = next((i for i, s in enumerate(body.steps) if s.after_seconds > 0), None)
        if first is not None:
            return round_ + 1, first
    return None


def start_escalation(
    session: Session,
    *,
    alert_id: uuid.UUID,
    priority: str,
    created_at: datetime,
    test: bool,
) -> AlertEscalation | None:
    """Copies the policy in force onto a new alert. A test press reaches nobody by phone."""
    if test:
        return None
    policy = policy_in_force(session, priority=priority)
    if policy is None:
        return None
    # The console sounds a new alert by itself (its "created" line): an at-once console
    # step is already done.
    first = next(
        (
            i
            for i, s in enumerate(policy.body.steps)
            if not (s.action == StepAction.CONSOLE and s.after_seconds == 0)
        ),
        None,
    )
    if first is None:
        return None
    row = AlertEscalation(
        alert_id=alert_id,
        priority=priority,
        policy_version=policy.version,
        body=policy.body.model_dump(mode="json"),
        started_at=created_at,
        step_index=first,
        next_due_at=created_at + timedelta(seconds=_offset(policy.body, 0, first)),
    )
    session.add(row)
    return row


def escalate_now(session: Session, *, alert_id: uuid.UUID, actor: User | None) -> bool:
    """ "Need backup": the next step is due at once. False if no chain is running."""
    now = utcnow()
    result = session.execute(
        sa.update(AlertEscalation)
        .where(
            col(AlertEscalation.alert_id) == alert_id,
            col(AlertEscalation.status) == ChainStatus.RUNNING,
        )
        .values(next_due_at=now),
        execution_options=NO_SYNC,
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    session.add(
        AlertEvent(
            alert_id=alert_id,
            at=now,
            action="escalation_requested",
            actor_id=actor.id if actor else None,
            actor_name=actor.full_name if actor else None,
            note_key="oncall.timeline.requested",
        )
    )
    mark_changed(session, alert_id)
    return True


def voice_params(alert: Alert, elder: Elder) -> dict[str, str | int | float]:
    """What a voice line may say: name, kind, community. Never a reading or a condition."""
    return {
        "name": f"{elder.first_name} {elder.last_name}",
        "kind": alert.kind.value,
        "community": elder.community,
    }


def _run_step(
    session: Session,
    *,
    chain: AlertEscalation,
    body: PolicyBody,
    round_: int,
    index: int,
    alert: Alert,
    elder: Elder | None,
    now: datetime,
    roster: dict[str, list[OnDuty]],
) -> None:
    step = body.steps[index]
    step_ref = f"{round_ + 1}.{index + 1}"
    seconds = _offset(body, round_, index)
    notifier = get_notifier()
    people: list[tuple[User, str | None]] = []
    if step.action != StepAction.CONSOLE:
        # The roster is read once per pass, not once per step.
        if "now" not in roster:
            roster["now"] = on_duty(session, at=now)
        people = _recipients(session, step.target, at=now, duty=roster["now"])
    reached: list[str] = []
    if step.action == StepAction.CONSOLE:
        notifier.console(
            session,
            to="role:dispatcher",
            template_key="notify.oncall.console",
            params={"ref": str(alert.id)[:8], "priority": alert.priority.value},
            subject="alert",
            subject_id=alert.id,
        )
    elif elder is not None:
        for user, phone in people:
            if not phone:
                continue
            notification: Notification
            if step.action == StepAction.CALL:
                notification = notifier.place_call(
                    session,
                    to=phone,
                    template_key="notify.oncall.call",
                    params=voice_params(alert, elder),
                    locale="th",
                    subject="alert",
                    subject_id=alert.id,
                )
            else:
                notification = notifier.send_sms(
                    session,
                    to=phone,
                    template_key="notify.oncall.sms",
                    params={
                        "name": f"{elder.first_name} {elder.last_name}",
                        "community": elder.community,
                        "priority": alert.priority.value,
                        "seconds": seconds,
                        "ref": str(alert.id)[:8],
                    },
                    locale="en" if user.locale == "en" else "th",
                    subject="alert",
                    subject_id=alert.id,
                )
            notification.user_id = user.id
            notification.step = step_ref
            reached.append(user.full_name)
    session.add(
        AlertEvent(
            alert_id=alert.id,
            at=now,
            action=f"escalation_{step.action.value}",
            note_key=(
                f"oncall.timeline.{step.action.value}"
                if reached or step.action == StepAction.CONSOLE
                else "oncall.timeline.nobody"
            ),
            params={
                "who": ", ".join(reached),
                "target": step.target.value,
                "seconds": seconds,
                "round": round_ + 1,
                "version": chain.policy_version,
            },
        )
    )


def _due_positions(
    body: PolicyBody, chain: AlertEscalation, *, cutoff: datetime
) -> tuple[list[tuple[int, int]], tuple[int, int] | None]:
    """The chain's steps due by `cutoff`, in order, and the first one not yet due.

    The next step is due at the row's `next_due_at`, which "need backup" brings forward to
    now; the steps after it at their times in the policy."""
    due: list[tuple[int, int]] = []
    position: tuple[int, int] | None = (chain.round, chain.step_index)
    while position is not None:
        at = chain.started_at + timedelta(seconds=_offset(body, *position))
        if not due and chain.next_due_at is not None:
            at = min(at, chain.next_due_at)
        if at > cutoff:
            break
        due.append(position)
        position = _following(body, *position)
    return due, position


def _skipped_on_timeline(
    session: Session,
    *,
    alert_id: uuid.UUID,
    body: PolicyBody,
    skipped: list[tuple[int, int]],
    now: datetime,
    version: int,
) -> None:
    for round_, index in skipped:
        step = body.steps[index]
        session.add(
            AlertEvent(
                alert_id=alert_id,
                at=now,
                action="escalation_skipped",
                note_key="oncall.timeline.skipped",
                params={
                    "step": f"{round_ + 1}.{index + 1}",
                    "action": step.action.value,
                    "target": step.target.value,
                    "seconds": _offset(body, round_, index),
                    "round": round_ + 1,
                    "version": version,
                },
            )
        )


def _advance(
    session: Session,
    chain: AlertEscalation,
    *,
    cutoff: datetime,
    now: datetime,
    roster: dict[str, list[OnDuty]],
    alerts: dict[uuid.UUID, Alert],
    elders: dict[uuid.UUID, Elder],
) -> int:
    """Claims the chain's due steps and runs the latest of them; returns how many ran.

    Normally one step (or a few due at the same moment) is due. After downtime several may
    be overdue: calling the dispatcher, the supervisor and the backup all at once helps
    nobody, so only the latest due step runs (with any due at the same moment) and the
    earlier ones are put on the timeline as skipped. The one conditional UPDATE names the
    step it expects and moves the chain past them all: a second process loses it cleanly.
    """
    body = PolicyBody.model_validate(chain.body)
    due, following = _due_positions(body, chain, cutoff=cutoff)
    if not due:
        return 0
    latest = _offset(body, *due[-1])
    run = [p for p in due if _offset(body, *p) == latest]
    skipped = [p for p in due if _offset(body, *p) < latest]
    values: dict[str, object] = {"last_fired_by": PROCESS_ID}
    if following is None:
        values.update(status=ChainStatus.EXHAUSTED, next_due_at=None)
    else:
        values.update(
            round=following[0],
            step_index=following[1],
            next_due_at=chain.started_at + timedelta(seconds=_offset(body, *following)),
        )
    claim = session.execute(
        sa.update(AlertEscalation)
        .where(
            col(AlertEscalation.alert_id) == chain.alert_id,
            col(AlertEscalation.status) == ChainStatus.RUNNING,
            col(AlertEscalation.round) == chain.round,
            col(AlertEscalation.step_index) == chain.step_index,
        )
        .values(**values),
        execution_options=NO_SYNC,
    )
    if claim.rowcount != 1:  # type: ignore[attr-defined]
        return 0
    alert = alerts.get(chain.alert_id)
    if alert is None or alert.status not in CHAIN_STATUSES:
        session.execute(
            sa.update(AlertEscalation)
            .where(col(AlertEscalation.alert_id) == chain.alert_id)
            .values(status=ChainStatus.STOPPED, next_due_at=None),
            execution_options=NO_SYNC,
        )
        return 0
    if skipped:
        log.info("escalation: %s had %d overdue steps; ran the latest", alert.id, len(skipped))
        _skipped_on_timeline(
            session, alert_id=alert.id, body=body, skipped=skipped, now=now,
            version=chain.policy_version,
        )  # fmt: skip
    for round_, index in run:
        _run_step(
            session,
            chain=chain,
            body=body,
            round_=round_,
            index=index,
            alert=alert,
            elder=elders.get(alert.elder_id),
            now=now,
            roster=roster,
        )
    mark_changed(session, alert.id)
    return len(run)


def seconds_until_next_due(engine: Engine, *, longest: float) -> float:
    """How long the worker may sleep: until the soonest running chain's next step, at most
    `longest` (chains started meanwhile, messages to retry)."""
    with engine.connect() as conn:
        due = conn.execute(
            sa.select(sa.func.min(col(AlertEscalation.next_due_at))).where(
                col(AlertEscalation.status) == ChainStatus.RUNNING
            )
        ).scalar_one_or_none()
    if due is None:
        return longest
    if isinstance(due, str):  # SQLite's min() returns the stored text
        due = datetime.fromisoformat(due)
    if due.tzinfo is None:
        due = due.replace(tzinfo=utcnow().tzinfo)
    return min(longest, max(0.0, (due - utcnow()).total_seconds()))


def run_due(engine: Engine, *, now: datetime | None = None, batch: int = 100) -> int:
    """Runs the chain steps due by `now` (the latest due per chain); returns how many ran."""
    done = 0
    while True:
        ran, claimed = _run_batch(engine, now=now, batch=batch)
        done += ran
        if claimed < batch:
            return done


def _run_batch(engine: Engine, *, now: datetime | None, batch: int) -> tuple[int, int]:
    cutoff = now or utcnow()
    ran = 0
    with Session(engine, expire_on_commit=False) as session:
        # The due chains with their alerts and elders in one query; only the chains' rows
        # are locked (an acknowledgement is never kept waiting by a tick).
        query = (
            select(AlertEscalation, Alert, Elder)
            .join(Alert, col(Alert.id) == col(AlertEscalation.alert_id))
            .join(Elder, col(Elder.id) == col(Alert.elder_id))
            .where(
                AlertEscalation.status == ChainStatus.RUNNING,
                col(AlertEscalation.next_due_at) <= cutoff,
            )
            .order_by(col(AlertEscalation.next_due_at))
            .limit(batch)
        )
        if engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=AlertEscalation)
        rows = session.exec(query).all()
        if not rows:
            session.commit()
            return 0, 0
        chains = [chain for chain, _, _ in rows]
        alerts = {a.id: a for _, a, _ in rows}
        elders = {e.id: e for _, _, e in rows}
        for chain in chains:
            # Detached: `_advance` moves it on with conditional UPDATEs, not by the ORM.
            session.expunge(chain)
        roster: dict[str, list[OnDuty]] = {}
        fired_at = now or utcnow()
        with session.no_autoflush:
            for chain in chains:
                ran += _advance(
                    session, chain, cutoff=cutoff, now=fired_at, roster=roster,
                    alerts=alerts, elders=elders,
                )  # fmt: skip
        session.commit()
        return ran, len(chains)
