"""The HTTP batch endpoint: the WebSocket's semantics in one request and one answer."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
from fastapi import FastAPI
from sqlmodel import Session, select

from eldercare_protocol import HTTP_EVENTS_PATH, MAX_MESSAGE_BYTES, AckMessage
from server.auth.models import Role, User
from server.devices.models import AgentEvent
from server.devices.service import revoke_hub_token
from tests.support.events import bp_reading_json, events_message, heartbeat_json, panic_json
from tests.support.hubs import live_server, make_hub


def stored_ids(session: Session) -> set[str]:
    session.expire_all()
    return {str(i) for i in session.exec(select(AgentEvent.id)).all()}


def test_http_batch_stores_acks_and_names_bad_events(app: FastAPI, session: Session) -> None:
    hub = make_hub(session)
    good, bad, dup = heartbeat_json(), bp_reading_json(), panic_json()
    bad["occurred_at"] = "yesterday"
    with live_server(app) as url, httpx.Client(base_url=url.replace("ws://", "http://")) as http:
        first = http.post(
            HTTP_EVENTS_PATH, content=events_message(good, bad, dup), headers=hub.headers
        )
        again = http.post(HTTP_EVENTS_PATH, content=events_message(dup), headers=hub.headers)
    assert first.status_code == 200
    ack = AckMessage.model_validate(first.json())
    assert sorted(str(i) for i in ack.ids) == sorted([good["id"], dup["id"]])
    assert [(e.code, e.index, e.event_id) for e in ack.errors] == [("invalid_event", 1, bad["id"])]
    assert [str(i) for i in AckMessage.model_validate(again.json()).ids] == [dup["id"]]
    # The heartbeat is acked and kept as the hub's status, not as an event row.
    assert stored_ids(session) == {dup["id"]}


def test_http_refusals_say_what_is_wrong(
    app: FastAPI,
    session: Session,
    users: dict[Role, User],
    auth: Callable[[User], dict[str, str]],
) -> None:
    hub = make_hub(session)
    revoked = make_hub(session)
    revoke_hub_token(session, token_id=revoked.token_id, actor=None)
    session.commit()
    with (
        live_server(app, rate_per_second=1.0, burst=2) as url,
        httpx.Client(base_url=url.replace("ws://", "http://")) as http,
    ):

        def post(body: str | bytes, headers: dict[str, str]) -> httpx.Response:
            return http.post(HTTP_EVENTS_PATH, content=body, headers=headers)

        malformed = post(b"\xff{", hub.headers)
        assert malformed.status_code == 400
        assert malformed.json()["code"] == "malformed_json"
        wrong = post('{"type": "ack", "ids": []}', hub.headers)
        assert (wrong.status_code, wrong.json()["code"]) == (400, "invalid_message")
        big = post(b"x" * (MAX_MESSAGE_BYTES + 1), hub.headers)
        assert big.status_code == 413
        assert post(events_message(heartbeat_json()), {}).status_code == 401
        assert post(events_message(heartbeat_json()), revoked.headers).status_code == 401
        person = post(events_message(heartbeat_json()), auth(users[Role.ADMIN]))
        assert person.status_code == 403
        # A hub token is no use anywhere else in the API.
        assert http.get("/api/v1/elders", headers=hub.headers).status_code == 401
        assert http.get("/api/v1/auth/me", headers=hub.headers).status_code == 401
        assert (
            post(events_message(heartbeat_json(), heartbeat_json()), hub.headers).status_code == 200
        )
        press = panic_json()
        limited = post(events_message(heartbeat_json(), press), hub.headers)
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
        body = json.loads(limited.text)
        assert body["ids"] == [press["id"]]
        assert body["errors"][0]["code"] == "rate_limited"
    # Only the press is an event row; the accepted heartbeats went to the hub's status.
    assert stored_ids(session) == {press["id"]}
