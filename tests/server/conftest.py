"""Server fixtures: every database test runs on SQLite and on PostgreSQL.

Each test gets an empty, fully migrated database: a copy of a migrated SQLite file, or a
PostgreSQL database (created once per run, dropped at the end) whose tables are truncated.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from server.auth.models import Role, User
from server.auth.service import issue_token
from server.config import Settings
from server.main import create_app
from server.migrate import upgrade
from server.models_registry import metadata
from server.security import hash_password
from tests.support.databases import scratch_postgres
from tests.support.tiers import postgres_admin_url

TEST_PASSWORD = "correct-horse-9"
TEST_SECRET = "test-secret-" + "x" * 40


@pytest.fixture(scope="session")
def password_hash() -> str:
    # argon2 is deliberately slow; hash once and share it.
    return hash_password(TEST_PASSWORD)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "template.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    with scratch_postgres(postgres_admin_url(), prefix="eldercare_test") as url:
        yield url


def _truncate_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "eldercare.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database")
    _truncate_postgres(url)
    return url


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        env="test", database_url=db_url, secret_key=TEST_SECRET, data_dir=tmp_path / "data"
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def engine(app: FastAPI) -> Engine:
    """The app's engine, for code under test that takes one (the console feed, timers)."""
    bound: Engine = app.state.engine
    return bound


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as db:
        yield db


@pytest.fixture
def users(session: Session, password_hash: str) -> dict[Role, User]:
    """One user per role, named after it; password TEST_PASSWORD."""
    made = {
        role: User(
            username=role.value, full_name=f"Test {role.value}", role=role,
            password_hash=password_hash,
        )
        for role in Role
    }  # fmt: skip
    session.add_all(made.values())
    session.commit()
    return made


@pytest.fixture
def make_user(session: Session, password_hash: str) -> Callable[..., User]:
    def make(role: Role, username: str | None = None) -> User:
        user = User(
            username=username or f"{role.value}-{uuid.uuid4().hex[:6]}",
            full_name=f"Test {role.value}",
            role=role,
            password_hash=password_hash,
        )
        session.add(user)
        session.commit()
        return user

    return make


@pytest.fixture
def auth(app: FastAPI, settings: Settings) -> Callable[[User], dict[str, str]]:
    """Bearer headers for a user: `client.get(url, headers=auth(user))`. Each call logs in
    afresh (a server-side session of its own)."""

    def headers(user: User) -> dict[str, str]:
        with Session(app.state.engine) as db:
            token = issue_token(db, user, settings=settings)
            db.commit()
        return {"Authorization": f"Bearer {token}"}

    return headers


# Per module, not per session: Playwright's sync API keeps an event loop alive while it runs,
# which would break asyncio tests in other modules. Browser tests live in modules of their own.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from tests.support.browser import chromium

    with chromium() as b:
        yield b


@pytest.fixture
def live_url(app: FastAPI) -> Iterator[str]:
    from tests.support.live import serve

    with serve(app) as url:
        yield url
