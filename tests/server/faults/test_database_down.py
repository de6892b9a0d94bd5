"""A database that cannot be reached is a 503 with Retry-After, never a 500.

A real refused connection: the app points at a PostgreSQL port where nothing listens (what a
server sees while its database restarts), and a hub posts its batch.
"""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse

from server.auth.service import token_serializer
from server.config import Settings
from server.main import create_app
from server.security import new_hub_token
from tests.server.conftest import TEST_SECRET
from tests.support.live import free_port


def test_a_request_while_the_database_is_down_is_told_to_retry() -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone?connect_timeout=2"
    app = create_app(Settings(database_url=url, secret_key=TEST_SECRET, env="test"))
    client = TestClient(app, raise_server_exceptions=False)  # no lifespan: nothing to start
    response = client.post(
        "/api/v1/agent/events",
        content=b'{"type": "events", "events": []}',
        headers={"Authorization": f"Bearer {new_hub_token().token}", "Accept-Language": "en"},
    )
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "2"
    detail = response.json()["detail"]
    assert detail["code"] == "database_unavailable"
    assert "try again" in detail["message"]


def test_websocket_handshakes_while_the_database_is_down_are_told_to_retry() -> None:
    """A hub and a console connecting while the database restarts get 503 and when to come
    back (both reconnect on their own), not a 500 with a traceback in the log."""
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone?connect_timeout=2"
    settings = Settings(database_url=url, secret_key=TEST_SECRET, env="test")
    client = TestClient(create_app(settings), raise_server_exceptions=True)
    with (
        pytest.raises(WebSocketDenialResponse) as hub,
        client.websocket_connect(
            "/api/v1/agent/ws", headers={"Authorization": f"Bearer {new_hub_token().token}"}
        ),
    ):
        pass
    assert hub.value.status_code == 503
    assert hub.value.headers["Retry-After"] == "2"
    assert hub.value.json()["code"] == "unavailable"

    # A well-signed session cookie: only the database can say whether its session stands.
    signed = token_serializer(settings, "session").dumps(
        {"u": str(uuid.uuid4()), "s": str(uuid.uuid4())}
    )
    client.cookies.set(settings.session_cookie, signed)
    with (
        pytest.raises(WebSocketDenialResponse) as console,
        client.websocket_connect("/api/v1/console/ws", headers={"Origin": "http://testserver"}),
    ):
        pass
    assert console.value.status_code == 503
    assert console.value.headers["Retry-After"] == "2"
    assert console.value.json() == {"detail": "database_unavailable"}
