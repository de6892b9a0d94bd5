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


@pytest.mark.parametrize(
    "url",
    [
        "ftp://tiles.example.org/{z}/{x}/{y}.png",
        "https://{s}.tile.example.org/{z}/{x}/{y}.png",  # a wildcard origin in the CSP: no
        "https://tiles.example.org/{z}/{x}.png",
        "https://a@tiles.example.org/{z}/{x}/{y}.png",
        "https://tiles.example.org 'unsafe-inline'/{z}/{x}/{y}.png",
    ],
)
def test_a_tile_url_must_be_a_plain_template(url: str) -> None:
    with pytest.raises(ValidationError, match="ELDERCARE_MAP_TILE_URL"):
        Settings(map_tile_url=url)


def test_the_csp_lets_map_tiles_in_only_from_their_server() -> None:
    from fastapi.testclient import TestClient

    from server.main import create_app
    from server.web import CONTENT_SECURITY_POLICY

    # Any answer carries the policy (the database is not needed for it).
    unreachable = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    none = Settings(database_url=unreachable)
    assert none.map_tile_origin is None
    plain = TestClient(create_app(none)).get("/api/v1/health")
    assert plain.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    tiles = Settings(
        database_url=unreachable, map_tile_url="https://tiles.example.org:8443/osm/{z}/{x}/{y}.png"
    )
    policy = TestClient(create_app(tiles)).get("/api/v1/health").headers["content-security-policy"]
    directives = dict(part.split(" ", 1) for part in policy.split("; "))
    assert directives["img-src"] == "'self' data: https://tiles.example.org:8443"
    # Only images: scripts, styles and connections stay with this server.
    assert policy.replace(" https://tiles.example.org:8443", "") == CONTENT_SECURITY_POLICY
