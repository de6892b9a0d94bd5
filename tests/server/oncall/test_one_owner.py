"""One owner of phone escalation, and a chain that was down for a while catches up once.

The alerts' own policy (server/alerts/policy.py) texts every supervisor at 60 s; when an
on-call chain runs for the alert, the chain alone calls and texts, and the older policy keeps
only its console steps. Steps that came due while no process ran collapse to the latest.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select

from server.alerts.config import alert_settings
from server.alerts.models import Alert, AlertEvent
from server.alerts.timers import run_due as run_alert_timers
from server.notify.models import Channel, Notification
from server.oncall import escalation, policies
from server.oncall.models import AlertEscalation, ChainStatus
from server.oncall.schemas import PolicyBody, PolicyStep, StepAction, Target
from tests.server.oncall.helpers import (
    BACKUP_PHONE,
    DISPATCHER_PHONE,
    SUPERVISOR_PHONE,
    make_roster,
)
from tests.support.alerts import raise_panic_alert as panic
from tests.support.records import make_elder


def _messages(session: Session, alert_id: object) -> list[tuple[str, str, str]]:
    session.expire_all()
    rows = session.exec(
        select(Notification)
        .where(Notification.subject_id == alert_id, Notification.channel != Channel.CONSOLE)
        .order_by(col(Notification.created_at), col(Notification.to))
    ).all()
    # The family's "alert opened" message is neither policy's: left out.
    return [
        (r.channel.value, r.to, r.template_key)
        for r in rows
        if not r.template_key.startswith("notify.family")
    ]


def test_with_a_chain_the_older_policy_texts_nobody_but_still_realarms(
    session: Session, password_hash: str
) -> None:
    make_roster(session, password_hash)  # the supervisor has a phone
    engine = session.get_bind()
    alert_id = panic(session, make_elder(session).id).alert_id
    created = session.get(Alert, alert_id).created_at  # type: ignore[union-attr]
    assert session.get(AlertEscalation, alert_id) is not None
    at = created + timedelta(seconds=61)
    assert escalation.run_due(engine, now=at) == 1  # the chain calls the dispatcher
    assert run_alert_timers(engine, policy=alert_settings().policy, now=at) >= 1
    # Only the chain's call: no "notify.supervisor.escalate" SMS besides it.
    assert _messages(session, alert_id) == [("voice", DISPATCHER_PHONE, "notify.oncall.call")]
    alert = session.get(Alert, alert_id)
    assert alert is not None and alert.escalated_at is not None  # the console re-alarm stays
    consoles = session.exec(
        select(Notification.template_key).where(
            Notification.subject_id == alert_id, Notification.channel == Channel.CONSOLE
        )
    ).all()
    assert "notify.supervisor.escalate" in consoles
    # The SLA breach at 10 minutes texts nobody either; the chain goes on by itself.
    later = created + timedelta(seconds=601)
    run_alert_timers(engine, policy=alert_settings().policy, now=later)
    assert not [m for m in _messages(session, alert_id) if m[2].startswith("notify.supervisor")]


def test_without_a_chain_the_older_policy_still_texts_supervisors(
    session: Session, password_hash: str
) -> None:
    make_roster(session, password_hash)
    # A RED policy with only the console: no chain starts, the older policy keeps the phone.
    policies.save_policy(
        session, priority="RED", body=policies.DEFAULT_POLICIES["WHITE"], actor=None
    )
    session.commit()
    engine = session.get_bind()
    alert_id = panic(session, make_elder(session).id).alert_id
    assert session.get(AlertEscalation, alert_id) is None
    created = session.get(Alert, alert_id).created_at  # type: ignore[union-attr]
    run_alert_timers(engine, policy=alert_settings().policy, now=created + timedelta(seconds=61))
    assert ("sms", SUPERVISOR_PHONE, "notify.supervisor.escalate") in _messages(session, alert_id)


def test_after_downtime_only_the_latest_due_step_runs_and_the_rest_are_on_the_timeline(
    session: Session, password_hash: str
) -> None:
    roster = make_roster(session, password_hash)
    engine = session.get_bind()
    alert_id = panic(session, make_elder(session).id).alert_id
    chain = session.get(AlertEscalation, alert_id)
    assert chain is not None
    created = chain.started_at
    # Down from before 60 s to 185 s: the dispatcher's (60 s) and supervisor's (120 s) calls
    # are overdue; the backup's call and the team's SMS (both 180 s) are the latest.
    assert escalation.run_due(engine, now=created + timedelta(seconds=185)) == 2
    assert _messages(session, alert_id) == [
        ("voice", BACKUP_PHONE, "notify.oncall.call"),
        ("sms", DISPATCHER_PHONE, "notify.oncall.sms"),
        ("sms", SUPERVISOR_PHONE, "notify.oncall.sms"),
    ]
    events = session.exec(
        select(AlertEvent.action, AlertEvent.params)
        .where(AlertEvent.alert_id == alert_id, col(AlertEvent.action).startswith("escalation"))
        .order_by(col(AlertEvent.id))
    ).all()
    assert [(a, p.get("step") or p.get("seconds")) for a, p in events] == [
        ("escalation_skipped", "1.2"),
        ("escalation_skipped", "1.3"),
        ("escalation_call", 180),
        ("escalation_sms", 180),
    ]
    assert events[2][1]["who"] == roster.backup.full_name
    # The chain goes on from there as usual: round two's dispatcher call at 240 s.
    session.expire_all()
    chain = session.get(AlertEscalation, alert_id)
    assert chain is not None and (chain.round, chain.step_index) == (1, 1)
    assert escalation.run_due(engine, now=created + timedelta(seconds=240)) == 1
    assert _messages(session, alert_id)[-1] == ("voice", DISPATCHER_PHONE, "notify.oncall.call")


def test_a_chain_overdue_past_its_last_round_runs_the_last_step_once_and_ends(
    session: Session, password_hash: str
) -> None:
    make_roster(session, password_hash)
    policies.save_policy(
        session,
        priority="RED",
        body=PolicyBody(
            steps=(
                PolicyStep(after_seconds=10, action=StepAction.CALL, target=Target.DISPATCHER),
                PolicyStep(after_seconds=20, action=StepAction.CALL, target=Target.SUPERVISOR),
            ),
            repeat_after_seconds=20,
            max_rounds=3,
        ),
        actor=None,
    )
    session.commit()
    engine = session.get_bind()
    alert_id = panic(session, make_elder(session).id).alert_id
    created = session.get(AlertEscalation, alert_id).started_at  # type: ignore[union-attr]
    assert escalation.run_due(engine, now=created + timedelta(hours=1)) == 1
    assert _messages(session, alert_id) == [("voice", SUPERVISOR_PHONE, "notify.oncall.call")]
    chain = session.get(AlertEscalation, alert_id)
    assert chain is not None and chain.status == ChainStatus.EXHAUSTED
    skipped = session.exec(
        select(AlertEvent).where(
            AlertEvent.alert_id == alert_id, AlertEvent.action == "escalation_skipped"
        )
    ).all()
    assert len(skipped) == 5  # 1.1, 1.2, 2.1, 2.2, 3.1
