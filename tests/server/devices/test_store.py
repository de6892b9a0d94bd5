"""`store_group` directly: one transaction for several hubs' messages, on both databases."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from sqlmodel import Session, col, select

from eldercare_protocol import EVENT_ADAPTER, Event
from server.devices.config import DevicesSettings
from server.devices.models import AgentEvent, PendingReading
from server.devices.service import HubIdentity
from server.devices.store import Submission, store_group
from tests.support.events import bp_reading_json, heartbeat_json, now
from tests.support.hubs import QUIET, Hub, make_hub

SETTINGS = DevicesSettings.model_validate(QUIET)


def _identity(hub: Hub) -> HubIdentity:
    return HubIdentity(token_id=hub.token_id, device_id=hub.device_id, elder_id=hub.elder.id)


def _events(*raw: dict[str, object]) -> list[Event]:
    return [EVENT_ADAPTER.validate_python(r) for r in raw]


def test_a_group_of_messages_is_stored_once_each_under_its_own_hub(
    app: FastAPI, session: Session
) -> None:
    first, second = make_hub(session), make_hub(session)
    reading, beat, shared = bp_reading_json(), heartbeat_json(), bp_reading_json(150, 95)
    received = now() - timedelta(seconds=3)
    submissions = [
        # The same reading twice in one message, as a hub re-sending after a lost ack might.
        Submission(hub=_identity(first), events=_events(reading, beat, reading, shared),
                   received_at=received),
        # The second hub re-uses an id the first hub sent in the same group.
        Submission(hub=_identity(second), events=_events(shared, heartbeat_json()), received_at=now()),
    ]  # fmt: skip

    outcomes = store_group(session, submissions, settings=SETTINGS)
    session.commit()

    # Heartbeats are acked and update the hub's status row; they are not stored events.
    assert [o.created for o in outcomes] == [2, 0]
    assert [str(i) for i in outcomes[0].acked] == [reading["id"], beat["id"], shared["id"]]
    assert [(e.code.value, e.event_id) for e in outcomes[1].refused] == [
        ("forbidden_device", shared["id"])
    ]
    rows = {str(r.id): r for r in session.exec(select(AgentEvent)).all()}
    assert len(rows) == 2 and beat["id"] not in rows
    stored = rows[reading["id"]]
    # The payload is kept exactly as the protocol serialises it, raw bytes included.
    assert stored.payload == reading["payload"]
    assert (stored.hub_id, stored.elder_id, stored.kind) == (
        first.device_id,
        first.elder.id,
        "vitals",
    )
    assert abs(stored.received_at - received) < timedelta(milliseconds=1)
    assert rows[shared["id"]].hub_id == first.device_id
    queued = session.exec(select(PendingReading.event_id)).all()
    assert sorted(str(q) for q in queued) == sorted([reading["id"], shared["id"]])

    # The whole group again: nothing new is stored or queued, everything is acked again.
    session.execute(PendingReading.__table__.delete())  # type: ignore[attr-defined]
    again = store_group(session, submissions, settings=SETTINGS)
    session.commit()
    assert [o.created for o in again] == [0, 0]
    assert again[0].acked == outcomes[0].acked
    count = len(session.exec(select(AgentEvent.id).where(col(AgentEvent.id).is_not(None))).all())
    assert count == 2
    assert session.exec(select(PendingReading)).all() == []
