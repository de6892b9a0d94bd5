"""A database that cannot be reached is a 503 with Retry-After, never a 500.

A real refused connection: the app points at a PostgreSQL port where nothing listens (what a
server sees while its database restarts), and a hub posts its batch.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

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
