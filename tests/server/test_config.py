from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlmodel import Session

from server.config import DEFAULT_SECRET, Settings
from server.seed import SeedRefused, seed_demo


def test_production_refuses_default_secret() -> None:
    with pytest.raises(ValidationError, match="ELDERCARE_SECRET_KEY"):
        Settings(env="production", secret_key=DEFAULT_SECRET, cookie_secure=True)
    Settings(env="production", secret_key="s" * 40, cookie_secure=True)


def test_seed_refuses_production(session: Session) -> None:
    production = Settings(env="production", secret_key="s" * 40, cookie_secure=True)
    with pytest.raises(SeedRefused):
        seed_demo(session, settings=production)


def test_health_reports_database(client: object) -> None:
    from fastapi.testclient import TestClient

    assert isinstance(client, TestClient)
    assert client.get("/api/v1/health").json() == {"status": "ok", "database": "ok"}


def test_health_is_honest_when_the_database_is_gone() -> None:
    from fastapi.testclient import TestClient

    from server.main import create_app

    app = create_app(Settings(database_url="postgresql+psycopg://nobody@127.0.0.1:1/none"))
    response = TestClient(app).get("/api/v1/health")
    assert response.status_code == 503
    assert response.json()["status"] == "error"
