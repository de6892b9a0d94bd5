"""Heartbeats, missed check-ins and low batteries: one WHITE alert each, cleared on recovery."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from sqlmodel import Session, col, select

from eldercare_protocol import EVENT_ADAPTER, DeviceHealth
from server.alerts.models import Alert, AlertEvent, AlertKind, AlertStatus
from server.common.time import BANGKOK
from server.devices.config import DevicesSettings
from server.devices.models import AgentEvent, Device, HubStatus
from server.devices.service import authenticate_hub
from server.devices.store import Submission, store_group
from server.devices.supervision import check_missed_checkins
from server.i18n import translate
from tests.support.events import heartbeat_json, now
from tests.support.hubs import Hub, make_hub

SETTINGS = DevicesSettings(heartbeat_seconds=60, missed_checkins=3, low_battery_percent=20)


def receive(session: Session, hub: Hub, *events: dict, at=None) -> None:  # type: ignore[no-untyped-def]
    identity = authenticate_hub(session, f"Bearer {hub.token}")
    assert identity is not None
    parsed = [EVENT_ADAPTER.validate_python(e) for e in events]
    store_group(
        session,
        [Submission(hub=identity, events=parsed, received_at=at or now())],
        settings=SETTINGS,
    )
    session.commit()


def maintenance(session: Session, kind: AlertKind) -> list[Alert]:
    session.expire_all()
    return list(session.exec(select(Alert).where(Alert.kind == kind)).all())


def test_heartbeat_updates_last_seen_and_device_health(app: FastAPI, session: Session) -> None:
    hub = make_hub(session)
    at = now()
    beat = heartbeat_json(
        at=at,
        devices=[
            DeviceHealth(device="AA:BB:CC:00:00:01", reachable=True, battery=64, last_seen=at)
        ],
    )
    older = heartbeat_json(at=at - timedelta(minutes=5), devices=[])
    receive(session, hub, beat, at=at)
    receive(session, hub, older, at=at + timedelta(seconds=1))
    status = session.get(HubStatus, hub.device_id)
    assert status is not None
    assert status.last_seen_at == at + timedelta(seconds=1)
    # The late, older heartbeat does not overwrite what the newer one said.
    assert status.last_heartbeat_at == at
    assert status.devices[0]["battery"] == 64
    session.expire_all()
    hub_row = session.get(Device, hub.device_id)
    assert hub_row is not None and hub_row.last_seen_at == at
    cuff = session.exec(select(Device).where(Device.ble_address == "AA:BB:CC:00:00:01")).one()
    assert cuff.battery == 64


def test_a_heartbeat_from_a_newer_hub_with_fields_this_server_does_not_know_is_kept(
    app: FastAPI, session: Session
) -> None:
    """Hubs may be upgraded before their server: the beat counts, the new field is dropped."""
    hub = make_hub(session)
    at = now()
    beat = heartbeat_json(at=at, devices=[])
    beat["payload"]["cellular_signal_dbm"] = -87
    receive(session, hub, beat, at=at)
    status = session.get(HubStatus, hub.device_id)
    assert status is not None and status.last_heartbeat_at == at


def test_heartbeats_are_the_hubs_latest_state_not_a_growing_event_table(
    app: FastAPI, session: Session
) -> None:
    hub = make_hub(session)
    t0 = now() - timedelta(hours=1)
    beats = [heartbeat_json(at=t0 + timedelta(minutes=n)) for n in range(30)]
    for n, beat in enumerate(beats):
        receive(session, hub, beat, at=t0 + timedelta(minutes=n))
    # The same beat re-sent (a lost ack) changes nothing.
    receive(session, hub, beats[10], at=t0 + timedelta(minutes=31))
    session.expire_all()
    assert session.exec(select(AgentEvent).where(AgentEvent.hub_id == hub.device_id)).all() == []
    statuses = session.exec(select(HubStatus).where(HubStatus.hub_id == hub.device_id)).all()
    assert len(statuses) == 1
    assert statuses[0].last_heartbeat_at == t0 + timedelta(minutes=29)
    assert statuses[0].last_seen_at == t0 + timedelta(minutes=31)


def test_missed_checkins_raise_one_white_alert_and_return_clears_it_with_the_duration(
    app: FastAPI, session: Session
) -> None:
    hub = make_hub(session)
    quiet = make_hub(session)
    t0 = now() - timedelta(hours=2)
    receive(session, hub, heartbeat_json(at=t0), at=t0)
    receive(session, quiet, heartbeat_json(at=t0), at=t0 + timedelta(minutes=1))
    assert check_missed_checkins(session, now=t0 + timedelta(seconds=179), settings=SETTINGS) == 0
    # Three missed 60 s check-ins for the first hub; the second still has a few seconds.
    assert check_missed_checkins(session, now=t0 + timedelta(seconds=181), settings=SETTINGS) == 1
    assert check_missed_checkins(session, now=t0 + timedelta(minutes=10), settings=SETTINGS) == 1
    assert check_missed_checkins(session, now=t0 + timedelta(minutes=20), settings=SETTINGS) == 0
    offline = maintenance(session, AlertKind.HUB_OFFLINE)
    assert len(offline) == 2
    mine = next(a for a in offline if a.device_id == hub.device_id)
    assert mine.priority == "WHITE" and mine.status == AlertStatus.NEW
    status = session.get(HubStatus, hub.device_id)
    assert status is not None and status.offline_since == t0 and status.offline_alert_id == mine.id

    receive(
        session, hub, heartbeat_json(at=t0 + timedelta(minutes=47)), at=t0 + timedelta(minutes=47)
    )
    (mine,) = [
        a for a in maintenance(session, AlertKind.HUB_OFFLINE) if a.device_id == hub.device_id
    ]
    assert mine.status == AlertStatus.RESOLVED
    note = session.exec(
        select(AlertEvent).where(AlertEvent.alert_id == mine.id).order_by(col(AlertEvent.id).desc())
    ).first()
    assert note is not None
    assert note.note_key == "devices.note.hub_back"
    assert note.params["minutes"] == 47
    # Bangkok clock time for people, not a UTC timestamp (seven hours off).
    assert note.params["since"] == f"{t0.astimezone(BANGKOK):%H:%M}"
    text = translate(note.note_key, "th", **note.params)
    assert f"ตั้งแต่เวลา {t0.astimezone(BANGKOK):%H:%M} น." in text and "T" not in text
    session.expire_all()
    status = session.get(HubStatus, hub.device_id)
    assert status is not None and status.offline_since is None
    # The other hub stays offline until it is heard from.
    assert any(a.status == AlertStatus.NEW for a in maintenance(session, AlertKind.HUB_OFFLINE))


def test_low_battery_raises_once_and_clears_when_charged(app: FastAPI, session: Session) -> None:
    hub = make_hub(session)

    def beat(level: int) -> dict:  # type: ignore[type-arg]
        return heartbeat_json(
            devices=[DeviceHealth(device="button", reachable=True, battery=level)]
        )

    receive(session, hub, beat(80))
    assert maintenance(session, AlertKind.LOW_BATTERY) == []
    receive(session, hub, beat(18))
    receive(session, hub, beat(17))
    receive(session, hub, beat(25))  # above 20 but within the margin: still low
    (alert,) = maintenance(session, AlertKind.LOW_BATTERY)
    assert alert.priority == "WHITE" and alert.status == AlertStatus.NEW
    assert alert.elder_id == hub.elder.id
    receive(session, hub, beat(95))
    (alert,) = maintenance(session, AlertKind.LOW_BATTERY)
    assert alert.status == AlertStatus.RESOLVED
    receive(session, hub, beat(10))
    assert len(maintenance(session, AlertKind.LOW_BATTERY)) == 2


def test_a_full_disk_on_the_hub_raises_one_white_alert_cleared_when_it_has_room(
    app: FastAPI, session: Session
) -> None:
    hub = make_hub(session)

    def beat(problem: str | None) -> dict:  # type: ignore[type-arg]
        event = heartbeat_json()
        event["payload"]["storage_problem"] = problem
        return event

    receive(session, hub, beat(None))
    assert maintenance(session, AlertKind.DEVICE_PROBLEM) == []
    receive(session, hub, beat("disk full"))
    receive(session, hub, beat("disk full"))  # still full: the same alert, not a second
    (alert,) = maintenance(session, AlertKind.DEVICE_PROBLEM)
    assert alert.priority == "WHITE" and alert.status == AlertStatus.NEW
    assert alert.device_id == hub.device_id and alert.press_count == 1
    assert [r["key"] for r in alert.reasons] == ["faults.hub_storage_full"]
    assert "ฮับ" in translate("faults.hub_storage_full", "th")
    receive(session, hub, beat(None))
    (alert,) = maintenance(session, AlertKind.DEVICE_PROBLEM)
    assert alert.status == AlertStatus.RESOLVED
    note = session.exec(
        select(AlertEvent).where(
            AlertEvent.alert_id == alert.id, AlertEvent.action == "auto_resolved"
        )
    ).one()
    assert note.note_key == "faults.hub_storage_ok"
    status = session.get(HubStatus, hub.device_id)
    assert status is not None and status.storage_alert_id is None
    receive(session, hub, beat("disk I/O error"))
    assert len(maintenance(session, AlertKind.DEVICE_PROBLEM)) == 2
