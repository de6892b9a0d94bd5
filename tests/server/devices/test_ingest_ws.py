"""The agent WebSocket against a live server: store, ack, refuse clearly, never lose good events."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from fastapi import FastAPI
from sqlmodel import Session, col, func, select
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from eldercare_protocol import MAX_EVENTS_PER_BATCH, MAX_MESSAGE_BYTES, WS_PATH
from server.devices.models import AgentEvent, HubStatus
from server.devices.service import revoke_hub_token
from tests.support.events import (
    bp_reading_json,
    events_message,
    heartbeat_json,
    minutes_ago,
    panic_json,
)
from tests.support.hubs import exchange, live_server, make_hub


def stored(session: Session) -> list[AgentEvent]:
    session.expire_all()
    return list(session.exec(select(AgentEvent)).all())


async def test_events_are_stored_under_the_hubs_elder_and_acked(
    app: FastAPI, session: Session
) -> None:
    hub = make_hub(session)
    other = make_hub(session)
    events = [heartbeat_json(), bp_reading_json(), panic_json(test=True)]
    with live_server(app) as url:
        async with connect(url + WS_PATH, additional_headers=hub.headers) as ws:
            errors, ack = await exchange(ws, events_message(*events))
    assert errors == []
    assert sorted(ack["ids"]) == sorted(e["id"] for e in events)
    rows = stored(session)
    # The heartbeat is acked and kept as the hub's latest state, not as an event row.
    assert {str(r.id) for r in rows} == {e["id"] for e in events[1:]}
    assert {r.elder_id for r in rows} == {hub.elder.id}
    assert other.elder.id not in {r.elder_id for r in rows}
    assert {r.kind for r in rows} == {"vitals", "panic"}
    assert all(r.hub_id == hub.device_id and r.received_at >= r.occurred_at for r in rows)


async def test_duplicates_and_out_of_order_events_are_stored_once_and_acked_again(
    app: FastAPI, session: Session
) -> None:
    hub = make_hub(session)
    late = bp_reading_json(at=minutes_ago(90))
    early = bp_reading_json(at=minutes_ago(5))
    with live_server(app) as url:
        async with connect(url + WS_PATH, additional_headers=hub.headers) as ws:
            _, first = await exchange(ws, events_message(early, early))
            _, second = await exchange(ws, events_message(late, early))
        async with connect(url + WS_PATH, additional_headers=hub.headers) as ws:
            _, third = await exchange(ws, events_message(late, early))
    assert first["ids"] == [early["id"]]
    assert sorted(second["ids"]) == sorted(third["ids"]) == sorted([late["id"], early["id"]])
    rows = stored(session)
    assert len(rows) == 2
    ordered = session.exec(select(AgentEvent.id).order_by(col(AgentEvent.occurred_at))).all()
    assert [str(i) for i in ordered] == [late["id"], early["id"]]


async def test_a_bad_event_is_named_and_the_good_ones_are_stored(
    app: FastAPI, session: Session
) -> None:
    hub = make_hub(session)
    good1, good2 = heartbeat_json(), bp_reading_json()
    bad = bp_reading_json()
    bad["payload"]["measurements"][0]["unit"] = ""
    not_an_event = {"kind": "teleport", "id": "not-a-uuid"}
    with live_server(app) as url:
        async with connect(url + WS_PATH, additional_headers=hub.headers) as ws:
            errors, ack = await exchange(ws, events_message(good1, bad, not_an_event, good2))
    assert [(e["code"], e["index"], e["event_id"]) for e in errors] == [
        ("invalid_event", 1, bad["id"]),
        ("invalid_event", 2, "not-a-uuid"),
    ]
    assert "unit" in errors[0]["message"]
    assert sorted(ack["ids"]) == sorted([good1["id"], good2["id"]])
    assert {str(r.id) for r in stored(session)} == {good2["id"]}  # good1 is a heartbeat


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("{not json", "malformed_json"),
        (b"\xff\xfe\x00garbage", "malformed_json"),
        ("[1, 2, 3]", "invalid_message"),
        ('{"type": "hello"}', "invalid_message"),
        ('{"type": "events", "events": {"a": 1}}', "invalid_message"),
        ('{"type": "events", "events": [], "extra": 1}', "invalid_message"),
        ('{"events": []}', "invalid_message"),
    ],
)
async def test_malformed_messages_get_an_error_frame_and_the_connection_stays(
    app: FastAPI, session: Session, message: str | bytes, code: str
) -> None:
    hub = make_hub(session)
    good = bp_reading_json()
    with live_server(app) as url:
        async with connect(url + WS_PATH, additional_headers=hub.headers) as ws:
            errors, ack = await exchange(ws, message)
            assert [e["code"] for e in errors] == [code]
            assert errors[0]["message"]
            assert ack["ids"] == []
            errors, ack = await exchange(ws, events_message(good))
    assert errors == [] and ack["ids"] == [good["id"]]
    assert len(stored(session)) == 1


async def test_oversized_and_overfull_messages_are_refused_and_the_connection_stays(
    app: FastAPI, session: Session
) -> None:
    hub = make_hub(session)
    huge = '{"type": "events", "events": [], "pad": "' + "x" * MAX_MESSAGE_BYTES + '"}'
    overfull = events_message(*[heartbeat_json() for _ in range(MAX_EVENTS_PER_BATCH + 1)])
    with live_server(app) as url:
        async with connect(url + WS_PATH, additional_headers=hub.headers, max_size=None) as ws:
            errors, ack = await exchange(ws, huge)
            assert [e["code"] for e in errors] == ["too_large"]
            assert str(MAX_MESSAGE_BYTES) in errors[0]["message"]
            errors, ack = await exchange(ws, overfull)
            assert [e["code"] for e in errors] == ["too_many_events"]
            assert ack["ids"] == []
            good = bp_reading_json()
            errors, ack = await exchange(ws, events_message(good))
            assert ack["ids"] == [good["id"]]
    assert len(stored(session)) == 1


async def test_handshake_refuses_wrong_revoked_and_person_tokens(
    app: FastAPI, session: Session, users: dict, auth: object
) -> None:
    from server.auth.models import Role

    hub = make_hub(session)
    revoked = make_hub(session)
    revoke_hub_token(session, token_id=revoked.token_id, actor=None)
    session.commit()
    person = auth(users[Role.ADMIN])  # type: ignore[operator]
    with live_server(app) as url:
        for headers, status in [
            ({}, 401),
            ({"Authorization": "Bearer hub_not-a-real-token"}, 401),
            ({"Authorization": f"Bearer {hub.token}x"}, 401),
            (revoked.headers, 401),
            (person, 403),
        ]:
            with pytest.raises(InvalidStatus) as refused:
                async with connect(url + WS_PATH, additional_headers=headers):
                    pass
            assert refused.value.response.status_code == status
            body = json.loads(refused.value.response.body or b"{}")
            assert body["type"] == "error" and body["message"]


async def test_a_token_revoked_while_connected_is_cut_off(app: FastAPI, session: Session) -> None:
    hub = make_hub(session)
    with live_server(app, token_recheck_seconds=0.05) as url:
        async with connect(url + WS_PATH, additional_headers=hub.headers) as ws:
            _, ack = await exchange(ws, events_message(heartbeat_json()))
            assert len(ack["ids"]) == 1
            revoke_hub_token(session, token_id=hub.token_id, actor=None)
            session.commit()
            await asyncio.sleep(0.1)
            await ws.send(events_message(heartbeat_json()))
            frame = json.loads(await ws.recv())
            assert frame["code"] == "unauthorized"
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1008
            assert "revoked" in closed.value.rcvd.reason
    # The one accepted heartbeat is the hub's status (heartbeats are not event rows).
    assert stored(session) == []
    status = session.get(HubStatus, hub.device_id)
    assert status is not None and status.last_heartbeat_at is not None


class ManualClock:
    """The rate limiter's clock, moved by the test: a refill that does not race the machine."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_rate_limit_names_a_retry_time_and_never_holds_back_a_panic(
    app: FastAPI, session: Session
) -> None:
    hub = make_hub(session)
    clock = ManualClock()
    with live_server(app, rate_per_second=2.0, burst=5) as url:
        app.state.ingestor.limiter.clock = clock
        async with connect(url + WS_PATH, additional_headers=hub.headers) as ws:
            _, ack = await exchange(ws, events_message(*[heartbeat_json() for _ in range(5)]))
            assert len(ack["ids"]) == 5
            errors, ack = await exchange(ws, events_message(heartbeat_json(), heartbeat_json()))
            assert [e["code"] for e in errors] == ["rate_limited"]
            assert errors[0]["retry_after"] == 1.0  # two events at two a second
            assert "retry after 1.0 s" in errors[0]["message"]
            assert ack["ids"] == []
            press = panic_json()
            errors, ack = await exchange(ws, events_message(heartbeat_json(), press))
            assert [e["code"] for e in errors] == ["rate_limited"]
            assert ack["ids"] == [press["id"]]
            clock.now += 0.5  # half the wait: still refused, and told the rest
            errors, ack = await exchange(ws, events_message(heartbeat_json(), heartbeat_json()))
            assert [e["retry_after"] for e in errors] == [0.5] and ack["ids"] == []
            clock.now += 0.5  # the wait the server named: accepted
            errors, ack = await exchange(ws, events_message(heartbeat_json(), heartbeat_json()))
            assert errors == [] and len(ack["ids"]) == 2
    # The press is the one event row; the accepted heartbeats went to the hub's status.
    assert [str(r.id) for r in stored(session)] == [press["id"]]


async def test_an_event_id_of_another_hub_is_refused_not_refiled(
    app: FastAPI, session: Session
) -> None:
    first = make_hub(session)
    second = make_hub(session)
    event = bp_reading_json()
    with live_server(app) as url:
        async with connect(url + WS_PATH, additional_headers=first.headers) as ws:
            _, ack = await exchange(ws, events_message(event))
            assert ack["ids"] == [event["id"]]
        async with connect(url + WS_PATH, additional_headers=second.headers) as ws:
            errors, ack = await exchange(ws, events_message(event))
    assert [(e["code"], e["event_id"]) for e in errors] == [("forbidden_device", event["id"])]
    assert ack["ids"] == []
    (row,) = stored(session)
    assert row.elder_id == first.elder.id
    count = session.exec(
        select(func.count()).select_from(AgentEvent).where(AgentEvent.elder_id == second.elder.id)
    ).one()
    assert count == 0
    assert uuid.UUID(event["id"]) == row.id
