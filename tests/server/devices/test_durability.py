"""What the server acks is on disk: the connections the ingest path commits on are checked
while they store a hub's events (SQLite synchronous=FULL, PostgreSQL synchronous_commit on
even where the database default is off); and a hub that drops mid-upload is no server error.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from sqlmodel import Session

from eldercare_protocol import HTTP_EVENTS_PATH
from server.devices.config import DevicesSettings
from tests.support.events import bp_reading_json, events_message, panic_json
from tests.support.hubs import QUIET, live_server, make_hub


@pytest.fixture
def postgres_default_off(app: FastAPI) -> Iterator[None]:
    """On PostgreSQL, the database's own default turned off (as an operator might)."""
    engine = app.state.engine
    if engine.dialect.name != "postgresql":
        yield
        return
    name = make_url(str(engine.url)).database
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    engine.dispose()  # new connections take the new default
    try:
        yield
    finally:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" RESET synchronous_commit')
        engine.dispose()


def _setting(dbapi_connection: Any, dialect: str) -> str:
    cursor = dbapi_connection.cursor()
    try:
        if dialect == "sqlite":
            cursor.execute("PRAGMA synchronous")
            return {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[cursor.fetchone()[0]]
        cursor.execute("SHOW synchronous_commit")
        return str(cursor.fetchone()[0])
    finally:
        cursor.close()


def test_the_ingest_path_commits_durably_on_both_databases(
    app: FastAPI, session: Session, postgres_default_off: None
) -> None:
    engine = app.state.engine
    dialect = engine.dialect.name
    hub = make_hub(session)
    seen: list[str] = []

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # The very connection and transaction that stores the hub's events.
        if "agent_events" in statement and statement.lstrip().upper().startswith(
            ("INSERT", "WITH")
        ):
            seen.append(_setting(cursor.connection, dialect))

    app.state.devices_settings = DevicesSettings(**QUIET)
    sa.event.listen(engine, "after_cursor_execute", on_execute)
    try:
        with TestClient(app) as client:
            for message in (events_message(panic_json()), events_message(bp_reading_json())):
                reply = client.post(HTTP_EVENTS_PATH, content=message, headers=hub.headers)
                assert reply.status_code == 200
            with client.websocket_connect("/api/v1/agent/ws", headers=hub.headers) as ws:
                ws.send_text(events_message(bp_reading_json(), panic_json()))
                assert ws.receive_json()["type"] == "ack"
    finally:
        sa.event.remove(engine, "after_cursor_execute", on_execute)

    assert len(seen) == 3  # the emergency lane, the readings lane, and the WebSocket
    expected = "FULL" if dialect == "sqlite" else "on"
    assert seen == [expected] * 3
    if dialect == "postgresql":
        # The test means something: outside the ingest path the default is off.
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "off"


def test_a_hub_dropping_mid_upload_is_logged_at_info_with_the_hub_not_as_an_error(
    app: FastAPI, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    hub = make_hub(session)
    body = events_message(panic_json()).encode()
    caplog.set_level(logging.INFO)
    with live_server(app) as url:
        # uvicorn's own loggers do not propagate to the root: listen to them directly.
        uvicorn_error = logging.getLogger("uvicorn.error")
        uvicorn_error.addHandler(caplog.handler)
        try:
            port = int(url.rsplit(":", 1)[1])
            with socket.create_connection(("127.0.0.1", port)) as raw:
                raw.sendall(
                    (
                        f"POST {HTTP_EVENTS_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        f"Authorization: Bearer {hub.token}\r\n"
                        "Content-Type: application/json\r\n"
                        f"Content-Length: {len(body)}\r\n\r\n"
                    ).encode()
                    + body[: len(body) // 2]
                )
                time.sleep(0.3)  # the server has the headers and half the body
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not any(
                str(hub.device_id) in r.getMessage() for r in caplog.records
            ):
                time.sleep(0.05)
        finally:
            uvicorn_error.removeHandler(caplog.handler)
    ours = [r for r in caplog.records if str(hub.device_id) in r.getMessage()]
    assert [(r.levelno, r.name) for r in ours] == [(logging.INFO, "server.devices.router")]
    assert "went away" in ours[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not any("Exception in ASGI application" in r.getMessage() for r in caplog.records)
