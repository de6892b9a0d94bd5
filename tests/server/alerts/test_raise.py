"""raise_alert and resolve_maintenance_alert: the interface device ingest and visits call."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import Session, col, select

import triage
from server.alerts.models import (
    Alert,
    AlertEvent,
    AlertKind,
    AlertStatus,
    AlertTimer,
    TimerStatus,
)
from server.alerts.service import (
    AlertRequest,
    raise_alert,
    raise_alerts,
    resolve_maintenance_alert,
)
from server.devices.models import Device, DeviceKind
from server.elders.models import EmergencyContact
from server.notify.models import Channel, Notification
from tests.support.alerts import raise_panic_alert
from tests.support.records import make_elder


def test_panic_opens_a_red_alert_with_timers_and_tells_the_family(session: Session) -> None:
    elder = make_elder(session)
    raised = raise_panic_alert(session, elder.id)
    assert raised.created and not raised.joined
    alert = session.get(Alert, raised.alert_id)
    assert alert is not None
    assert alert.status == AlertStatus.NEW
    assert alert.priority == triage.Priority.RED
    assert alert.due_at is not None
    assert (alert.due_at - alert.created_at).total_seconds() == 600
    steps = session.exec(select(AlertTimer).where(AlertTimer.alert_id == alert.id)).all()
    assert sorted((t.step, (t.due_at - alert.created_at).total_seconds()) for t in steps) == [
        ("dispatch_reminder", 180), ("escalate", 60), ("sla_breach", 600),
    ]  # fmt: skip
    assert all(t.status == TimerStatus.PENDING for t in steps)
    events = session.exec(select(AlertEvent).where(AlertEvent.alert_id == alert.id)).all()
    assert [e.action for e in events] == ["created"]
    sms = session.exec(select(Notification).where(Notification.subject_id == alert.id)).all()
    assert [(n.channel, n.to, n.template_key) for n in sms] == [
        (Channel.SMS, "0899999999", "notify.family.alert_opened")
    ]
    # Only the name: no health data travels to the family.
    assert set(sms[0].params) == {"name"}


def test_presses_within_the_window_join_the_open_alert(session: Session) -> None:
    elder = make_elder(session)
    first = raise_panic_alert(session, elder.id)
    second = raise_panic_alert(session, elder.id)
    third = raise_panic_alert(session, elder.id)
    assert second.alert_id == first.alert_id == third.alert_id
    assert second.joined and not second.created
    alert = session.get(Alert, first.alert_id, populate_existing=True)
    assert alert is not None and alert.press_count == 3
    actions = session.exec(
        select(AlertEvent.action)
        .where(AlertEvent.alert_id == alert.id)
        .order_by(col(AlertEvent.id))
    ).all()
    assert actions == ["created", "pressed_again", "pressed_again"]
    assert len(session.exec(select(Alert)).all()) == 1
    # The family hears once per alert, not once per press.
    assert len(session.exec(select(Notification)).all()) == 1


def test_a_press_after_the_window_opens_a_new_alert(session: Session) -> None:
    elder = make_elder(session)
    first = raise_panic_alert(session, elder.id)
    alert = session.get(Alert, first.alert_id)
    assert alert is not None
    alert.last_pressed_at = alert.last_pressed_at.replace(year=2020)
    session.add(alert)
    session.commit()
    second = raise_panic_alert(session, elder.id)
    assert second.created and second.alert_id != first.alert_id


def test_the_same_device_event_is_counted_once(session: Session) -> None:
    elder = make_elder(session)
    event_id = uuid.uuid4()
    first = raise_panic_alert(session, elder.id, source_event_id=event_id)
    again = raise_panic_alert(session, elder.id, source_event_id=event_id)
    assert again.alert_id == first.alert_id
    assert not again.created and not again.joined
    alert = session.get(Alert, first.alert_id, populate_existing=True)
    assert alert is not None and alert.press_count == 1


def test_a_test_press_is_its_own_alert_and_no_family_message(session: Session) -> None:
    elder = make_elder(session)
    real = raise_panic_alert(session, elder.id)
    test = raise_panic_alert(session, elder.id, test=True)
    assert test.created and test.alert_id != real.alert_id
    alert = session.get(Alert, test.alert_id)
    assert alert is not None and alert.test
    sent = session.exec(select(Notification).where(Notification.subject_id == alert.id)).all()
    assert sent == []


def test_no_family_message_for_contacts_who_opted_out(session: Session) -> None:
    elder = make_elder(session)
    for contact in session.exec(select(EmergencyContact)).all():
        contact.notify_on_alerts = False
        session.add(contact)
    session.commit()
    raise_panic_alert(session, elder.id)
    assert session.exec(select(Notification)).all() == []


def _offline(session: Session, elder_id: uuid.UUID, device_id: uuid.UUID) -> uuid.UUID:
    raised = raise_alert(
        session,
        elder_id=elder_id,
        kind=AlertKind.HUB_OFFLINE,
        priority=triage.Priority.WHITE,
        reasons=[triage.Reason(key="triage.event.device_status.disconnected")],
        device_id=device_id,
    )
    session.commit()
    return raised.alert_id


def test_maintenance_alerts_clear_themselves(session: Session) -> None:
    elder = make_elder(session)
    hub = Device(elder_id=elder.id, kind=DeviceKind.HUB)
    session.add(hub)
    session.commit()
    alert_id = _offline(session, elder.id, hub.id)
    assert _offline(session, elder.id, hub.id) == alert_id  # still the same problem
    alert = session.get(Alert, alert_id)
    assert alert is not None and alert.due_at is None
    assert session.exec(select(AlertTimer)).all() == []  # WHITE: no escalation
    assert session.exec(select(Notification)).all() == []  # families hear of emergencies only
    resolved = resolve_maintenance_alert(
        session,
        elder_id=elder.id,
        device_id=hub.id,
        kind=AlertKind.HUB_OFFLINE,
        note_key="alerts.maintenance.hub_online",
        params={"duration": "2 h 14 min"},
    )
    session.commit()
    assert resolved == alert_id
    alert = session.get(Alert, alert_id, populate_existing=True)
    assert alert is not None and alert.status == AlertStatus.RESOLVED
    assert alert.closed_at is not None
    last = session.exec(
        select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(col(AlertEvent.id))
    ).all()[-1]
    assert (last.action, last.note_key, last.params) == (
        "auto_resolved",
        "alerts.maintenance.hub_online",
        {"duration": "2 h 14 min"},
    )
    again = resolve_maintenance_alert(
        session,
        elder_id=elder.id,
        device_id=hub.id,
        kind=AlertKind.HUB_OFFLINE,
        note_key="alerts.maintenance.hub_online",
        params={},
    )
    assert again is None


def test_resolve_maintenance_refuses_emergency_kinds(session: Session) -> None:
    elder = make_elder(session)
    with pytest.raises(ValueError, match="not a device-problem kind"):
        resolve_maintenance_alert(
            session,
            elder_id=elder.id,
            device_id=None,
            kind=AlertKind.PANIC,
            note_key="x",
            params={},
        )


def _vitals(elder_id: uuid.UUID, priority: triage.Priority, source: uuid.UUID) -> AlertRequest:
    reason = triage.Reason(key="triage.bp.crisis")
    return AlertRequest(
        elder_id=elder_id, kind=AlertKind.VITALS, priority=priority, reasons=[reason],
        source_event_id=source, observation_id=None,
    )  # fmt: skip


def test_a_batch_raises_as_one_by_one_would(session: Session) -> None:
    """Joins the home's open alert (one opened earlier in the batch too), counts a re-sent
    event once, takes the more urgent priority, and opens one alert per other home."""
    already, fresh = make_elder(session), make_elder(session)
    before = raise_alert(
        session, elder_id=already.id, kind=AlertKind.VITALS, priority=triage.Priority.YELLOW,
        reasons=[], source_event_id=uuid.uuid4(),
    )  # fmt: skip
    session.commit()
    a, b, c, d = (uuid.uuid4() for _ in range(4))
    results = raise_alerts(session, [
        _vitals(already.id, triage.Priority.YELLOW, a),
        _vitals(fresh.id, triage.Priority.YELLOW, b),
        _vitals(fresh.id, triage.Priority.RED, c),
        _vitals(fresh.id, triage.Priority.YELLOW, d),
        _vitals(fresh.id, triage.Priority.YELLOW, c),
    ])  # fmt: skip
    session.commit()
    assert [(r.created, r.joined) for r in results] == [
        (False, True), (True, False), (False, True), (False, True), (False, False),
    ]  # fmt: skip
    assert results[0].alert_id == before.alert_id
    opened = results[1].alert_id
    assert {r.alert_id for r in results[1:]} == {opened}
    alert = session.get(Alert, opened, populate_existing=True)
    assert alert is not None
    assert (alert.press_count, alert.priority) == (3, triage.Priority.RED)
    counts = session.exec(
        select(AlertEvent.params)
        .where(AlertEvent.alert_id == opened, AlertEvent.action == "pressed_again")
        .order_by(col(AlertEvent.id))
    ).all()
    assert [p["count"] for p in counts] == [2, 3]
    old = session.get(Alert, before.alert_id, populate_existing=True)
    assert old is not None and old.press_count == 2
    assert len(session.exec(select(Alert)).all()) == 2
    # Raised again (a re-sent batch): nothing changes.
    again = raise_alerts(session, [_vitals(fresh.id, triage.Priority.RED, b)])
    assert (again[0].alert_id, again[0].created, again[0].joined) == (opened, False, False)
