"""A hostile hub with a valid token, on the real WebSocket and the HTTP batch endpoint.

Truncated, nested, poisoned, fragmented, replayed and borrowed frames: each gets a clear
error frame (or HTTP 4xx), nothing is stored under another home, good events in the same
stream are stored exactly once, and the connection stays usable where the protocol allows.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import Session, select
from websockets.asyncio.client import connect

from eldercare_protocol import HTTP_EVENTS_PATH, WS_PATH
from server.alerts.models import Alert
from server.devices.models import AgentEvent
from tests.support.events import bp_reading_json, events_message, panic_json
from tests.support.hubs import Hub, exchange, live_server, make_hub


def stored(session: Session) -> list[AgentEvent]:
    session.expire_all()
    return list(session.exec(select(AgentEvent)).all())


def _poisoned_events() -> list[tuple[str, dict[str, Any]]]:
    """Events that are valid JSON but that a database or a triage rule could choke on."""
    nul = bp_reading_json()
    nul["device"] = "bp\u0000monitor"
    surrogate = bp_reading_json()
    surrogate["device"] = "bp\ud800"
    nan = bp_reading_json()
    nan["payload"]["measurements"][0]["value"] = float("nan")
    infinite = bp_reading_json()
    infinite["payload"]["measurements"][0]["value"] = float("inf")
    huge = bp_reading_json()
    huge["payload"]["measurements"][0]["value"] = 10**400
    far_future = bp_reading_json()
    far_future["occurred_at"] = "9999-12-31T23:59:59+00:00"
    ancient = bp_reading_json()
    ancient["occurred_at"] = "0001-01-01T00:00:00+00:00"
    naive = bp_reading_json()
    naive["occurred_at"] = "2026-11-22T09:00:00"
    return [
        ("nul", nul),
        ("surrogate", surrogate),
        ("nan", nan),
        ("infinite", infinite),
        ("huge", huge),
        ("far_future", far_future),
        ("ancient", ancient),
        ("naive", naive),
    ]


def _encode(message: dict[str, Any]) -> str:
    # json.dumps writes NaN/Infinity and lone surrogates as a hostile sender would.
    return json.dumps(message, allow_nan=True)


async def test_every_truncation_of_a_message_is_an_error_frame_and_the_stream_goes_on(
    app: FastAPI, session: Session
) -> None:
    hub = make_hub(session)
    whole = events_message(bp_reading_json(), bp_reading_json())
    cuts = sorted({*range(0, 40), *range(len(whole) - 40, len(whole)), len(whole) // 2})
    with live_server(app) as url:
        async with connect(url + WS_PATH, additional_headers=hub.headers) as ws:
            for cut in cuts:
                errors, ack = await exchange(ws, whole[:cut])
                assert [e["code"] for e in errors] in (["malformed_json"], ["invalid_message"]), (
                    cut,
                    errors,
                )
                assert ack["ids"] == []
                # Bytes frames cut mid-character are not UTF-8: still an error frame.
                errors, ack = await exchange(ws, whole.encode()[:cut] + b"\xe0\xb8")
                assert len(errors) == 1 and ack["ids"] == []
            good = bp_reading_json()
            errors, ack = await exchange(ws, events_message(good))
    assert errors == [] and ack["ids"] == [good["id"]]
    assert [str(r.id) for r in stored(session)] == [good["id"]]


@pytest.mark.parametrize(
    "message",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"type": "events", "events": [' + "{" * 50_000 + "}" * 50_000 + "]}",
        '{"type": "events", "events": [' + '{"a":' * 50_000 + "1" + "}" * 50_000 + "]}",
        '{"type": "events", "events": [], "type": "events"}',
        '{"type": "events", "events": [' + "1e999999," * 1000 + "1]}",
        '{"type": "events", "events": [' + "9" * 100_000 + "]}",
    ],
    ids=[
        "nested-lists",
        "nested-objects",
        "nested-values",
        "duplicate-keys",
        "big-exp",
        "long-int",
    ],
)
async def test_pathological_json_gets_an_error_frame_not_a_dropped_connection(
    app: FastAPI, session: Session, message: str
) -> None:
    hub = make_hub(session)
    with live_server(app) as url:
        async with connect(url + WS_PATH, additional_headers=hub.headers, max_size=None) as ws:
            _errors, ack = await exchange(ws, message)
            assert ack["ids"] == []
            good = panic_json(test=True)
            again, ack = await exchange(ws, events_message(good))
    assert again == [] and ack["ids"] == [good["id"]]
    assert [str(r.id) for r in stored(session)] == [good["id"]]


async def test_poisoned_events_are_named_and_never_block_the_good_ones(
    app: FastAPI, session: Session
) -> None:
    hub = make_hub(session)
    poisoned = _poisoned_events()
    good = [bp_reading_json(), panic_json(test=True), bp_reading_json()]
    events = [good[0], *(e for _, e in poisoned), good[1], good[2]]
    with live_server(app) as url:
        async with connect(url + WS_PATH, additional_headers=hub.headers) as ws:
            errors, ack = await exchange(ws, _encode({"type": "events", "events": events}))
            # The same again: a hub resends what was not acked. Nothing changes.
            errors_again, ack_again = await exchange(
                ws, _encode({"type": "events", "events": events})
            )
            # And the connection still carries plain events.
            extra = bp_reading_json()
            _, last = await exchange(ws, events_message(extra))
    acked = set(ack["ids"])
    assert {g["id"] for g in good} <= acked
    refused = {e["event_id"] for e in errors}
    # Each poisoned event is either refused by name or stored and acked; never both, never lost
    # silently, never a dropped connection.
    for name, event in poisoned:
        assert (event["id"] in refused) != (event["id"] in acked), name
    assert set(ack_again["ids"]) == acked
    assert {e["event_id"] for e in errors_again} == refused
    assert last["ids"] == [extra["id"]]
    rows = stored(session)
    assert {str(r.id) for r in rows} == acked | {extra["id"]}
    assert {r.elder_id for r in rows} == {hub.elder.id}


async def test_fragmented_and_binary_frames_carry_the_same_message(
    app: FastAPI, session: Session
) -> None:
    hub = make_hub(session)
    first, second = bp_reading_json(), bp_reading_json()
    text = events_message(first)
    with live_server(app) as url:
        async with connect(url + WS_PATH, additional_headers=hub.headers) as ws:
            # One message sent in many WebSocket fragments.
            await ws.send(text[i : i + 7] for i in range(0, len(text), 7))
            _, ack = await ws_reply(ws)
            assert ack["ids"] == [first["id"]]
            errors, ack = await exchange(ws, events_message(second).encode())
            assert errors == [] and ack["ids"] == [second["id"]]
            await ws.ping()
            errors, ack = await exchange(ws, events_message(first, second))
            assert sorted(ack["ids"]) == sorted([first["id"], second["id"]])
    assert len(stored(session)) == 2


async def ws_reply(ws: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    while True:
        frame = json.loads(await ws.recv())
        if frame["type"] == "ack":
            return errors, frame
        errors.append(frame)


async def test_a_hostile_hub_cannot_claim_or_replay_another_homes_events(
    app: FastAPI, session: Session
) -> None:
    """Hub B replays hub A's panic (same id) and reorders A's readings under its own token,
    on both paths: refused by event id, nothing filed under B's elder, no second alert."""
    victim, hostile = make_hub(session), make_hub(session)
    panic = panic_json()
    readings = [bp_reading_json() for _ in range(3)]
    with live_server(app) as url:
        async with connect(url + WS_PATH, additional_headers=victim.headers) as ws:
            _, ack = await exchange(ws, events_message(panic, *readings))
            assert len(ack["ids"]) == 4
        own = bp_reading_json()
        stolen = [*reversed(readings), panic]
        async with connect(url + WS_PATH, additional_headers=hostile.headers) as ws:
            errors, ack = await exchange(ws, events_message(*stolen, own, panic))
            assert ack["ids"] == [own["id"]]
            assert {e["code"] for e in errors} == {"forbidden_device"}
            assert {e["event_id"] for e in errors} == {e["id"] for e in stolen}
            # The connection stays: the hub's own events still go through.
            own2 = bp_reading_json()
            _, ack = await exchange(ws, events_message(own2))
            assert ack["ids"] == [own2["id"]]
        http_url = url.replace("ws://", "http://") + HTTP_EVENTS_PATH
        async with httpx.AsyncClient() as client:
            response = await client.post(
                http_url, content=events_message(*stolen), headers=hostile.headers
            )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ids"] == []
    assert {e["event_id"] for e in body["errors"]} == {e["id"] for e in stolen}
    _assert_homes(session, victim, hostile, victim_ids={panic["id"], *(r["id"] for r in readings)})


def _assert_homes(session: Session, victim: Hub, hostile: Hub, *, victim_ids: set[str]) -> None:
    rows = stored(session)
    assert {str(r.id) for r in rows if r.elder_id == victim.elder.id} == victim_ids
    assert all(str(r.id) not in victim_ids for r in rows if r.elder_id == hostile.elder.id)
    alerts = session.exec(select(Alert)).all()
    assert [a.elder_id for a in alerts] == [victim.elder.id]


@pytest.mark.parametrize(
    ("content", "headers", "status"),
    [
        (b"", {}, 400),
        (b"\x1f\x8b\x08\x00garbage", {"Content-Encoding": "gzip"}, 400),
        (b'{"type": "events", "events": [', {}, 400),
        ("[" * 100_000, {}, 400),
        (b"\xff" * 100, {"Content-Type": "application/octet-stream"}, 400),
    ],
    ids=["empty", "gzip-claimed", "truncated", "nested", "binary"],
)
def test_hostile_http_batches_get_a_clear_4xx(
    app: FastAPI, session: Session, content: bytes | str, headers: dict[str, str], status: int
) -> None:
    hub = make_hub(session)
    with live_server(app) as url:
        http_url = url.replace("ws://", "http://") + HTTP_EVENTS_PATH
        response = httpx.post(http_url, content=content, headers={**hub.headers, **headers})
        good = bp_reading_json()
        after = httpx.post(http_url, content=events_message(good), headers=hub.headers)
    assert response.status_code == status, response.text
    assert response.json()["type"] == "error" and response.json()["message"]
    assert after.status_code == 200 and after.json()["ids"] == [good["id"]]
    assert [str(r.id) for r in stored(session)] == [good["id"]]
    assert uuid.UUID(good["id"])
