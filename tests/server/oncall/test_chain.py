"""The default RED chain as data, run by the tick at injected times (no network)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, col, select

from server.alerts.models import Alert, AlertEvent
from server.notify.models import Channel, Notification
from server.oncall import escalation, policies
from server.oncall.models import AlertEscalation, ChainStatus
from tests.server.oncall.helpers import (
    BACKUP_PHONE,
    DISPATCHER_PHONE,
    SUPERVISOR_PHONE,
    make_roster,
)
from tests.support.alerts import raise_panic_alert as panic
from tests.support.records import make_elder


def _sent(session: Session) -> list[tuple[str, str, str | None]]:
    session.expire_all()
    rows = session.exec(
        select(Notification)
        .where(col(Notification.channel).in_([Channel.VOICE, Channel.SMS]))
        .order_by(col(Notification.created_at), col(Notification.to))
    ).all()
    return [
        (r.channel.value, r.to, r.step) for r in rows if r.template_key.startswith("notify.oncall")
    ]


def test_default_red_chain_calls_dispatcher_supervisor_backup_then_repeats(
    session: Session, password_hash: str
) -> None:
    roster = make_roster(session, password_hash)
    engine = session.get_bind()
    elder = make_elder(session)
    alert_id = panic(session, elder.id).alert_id
    chain = session.get(AlertEscalation, alert_id)
    assert chain is not None and chain.policy_version == 0  # the built-in policy, copied
    created = chain.started_at
    assert escalation.run_due(engine, now=created + timedelta(seconds=59)) == 0
    assert escalation.run_due(engine, now=created + timedelta(seconds=60)) == 1
    assert _sent(session) == [("voice", DISPATCHER_PHONE, "1.2")]
    assert escalation.run_due(engine, now=created + timedelta(seconds=60.5)) == 0
    assert escalation.run_due(engine, now=created + timedelta(seconds=120)) == 1
    assert escalation.run_due(engine, now=created + timedelta(seconds=180)) == 2
    calls = _sent(session)
    assert calls[1:] == [
        ("voice", SUPERVISOR_PHONE, "1.3"),
        ("voice", BACKUP_PHONE, "1.4"),
        ("sms", DISPATCHER_PHONE, "1.5"),
        ("sms", SUPERVISOR_PHONE, "1.5"),
    ]
    # Round two: the dispatcher again at 180 + 60 s.
    assert escalation.run_due(engine, now=created + timedelta(seconds=240)) == 1
    assert _sent(session)[-1] == ("voice", DISPATCHER_PHONE, "2.2")
    timeline = session.exec(
        select(AlertEvent.action, AlertEvent.params)
        .where(AlertEvent.alert_id == alert_id)
        .order_by(col(AlertEvent.id))
    ).all()
    steps = [(a, p.get("seconds"), p.get("who")) for a, p in timeline if a.startswith("escalation")]
    assert steps == [
        ("escalation_call", 60, roster.dispatcher.full_name),
        ("escalation_call", 120, roster.supervisor.full_name),
        ("escalation_call", 180, roster.backup.full_name),
        ("escalation_sms", 180, f"{roster.dispatcher.full_name}, {roster.supervisor.full_name}"),
        ("escalation_call", 240, roster.dispatcher.full_name),
    ]
    # The call's notification names who was called, so a keypress acts in their name.
    voice = session.exec(
        select(Notification).where(
            Notification.channel == Channel.VOICE, Notification.step == "1.2"
        )
    ).one()
    assert voice.user_id == roster.dispatcher.id
    assert set(voice.params) == {"name", "kind", "community"}  # nothing about health


def test_acknowledged_alert_stops_its_chain_and_later_edits_do_not_change_it(
    session: Session, password_hash: str, users: object
) -> None:
    from server.alerts.lifecycle import Action
    from server.alerts.service import transition
    from server.auth.models import Role

    make_roster(session, password_hash)
    engine = session.get_bind()
    elder = make_elder(session)
    alert_id = panic(session, elder.id).alert_id
    # A new version saved after the alert opened does not touch the running chain.
    policies.save_policy(
        session, priority="RED", body=policies.DEFAULT_POLICIES["WHITE"], actor=None
    )
    session.commit()
    chain = session.get(AlertEscalation, alert_id)
    assert chain is not None and chain.policy_version == 0
    created = chain.started_at
    dispatcher = users[Role.DISPATCHER]  # type: ignore[index]
    transition(session, alert_id=alert_id, action=Action.ACKNOWLEDGE, actor=dispatcher)
    session.commit()
    assert escalation.run_due(engine, now=created + timedelta(seconds=600)) == 0
    assert _sent(session) == []
    session.expire_all()
    assert session.get(AlertEscalation, alert_id).status == ChainStatus.STOPPED  # type: ignore[union-attr]
    assert session.get(Alert, alert_id).status.value == "acknowledged"  # type: ignore[union-attr]


def test_test_press_reaches_nobody_by_phone(session: Session, password_hash: str) -> None:
    make_roster(session, password_hash)
    elder = make_elder(session)
    alert_id = panic(session, elder.id, test=True).alert_id
    assert session.get(AlertEscalation, alert_id) is None


def test_a_message_left_mid_send_by_a_dead_process_is_failed_not_sent_twice(
    session: Session, password_hash: str
) -> None:
    from server.notify.config import NotifySettings
    from server.notify.models import NotificationStatus
    from server.notify.sender import send_due

    class Refuse:
        channels = frozenset({Channel.SMS, Channel.VOICE})

        def send(self, notification: Notification) -> str:
            raise AssertionError("a message left mid-send must not be sent again")

    elder = make_elder(session)
    alert_id = panic(session, elder.id).alert_id
    stuck = Notification(
        channel=Channel.VOICE,
        to="0811111111",
        template_key="notify.oncall.call",
        status=NotificationStatus.SENDING,
        subject="alert",
        subject_id=alert_id,
        updated_at=utcnow_minus(600),
    )
    session.add(stuck)
    session.commit()
    from server.oncall import install

    install()
    assert send_due(session.get_bind(), Refuse(), settings=NotifySettings()) == 0
    session.expire_all()
    row = session.get(Notification, stuck.id)
    assert row is not None and row.status == NotificationStatus.FAILED
    assert "outcome unknown" in (row.error or "")
    actions = session.exec(select(AlertEvent.action).where(AlertEvent.alert_id == alert_id)).all()
    assert "voice_failed" in actions


def utcnow_minus(seconds: float) -> object:
    from server.common.time import utcnow

    return utcnow() - timedelta(seconds=seconds)
