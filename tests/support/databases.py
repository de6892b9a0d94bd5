"""Scratch databases for tests and benchmarks: created empty, migrated, and dropped (or
deleted) afterwards whatever happens. The one copy of this; benchmarks import it too."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from server.migrate import upgrade

DEFAULT_POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def postgres_admin_url() -> str:
    """A PostgreSQL server on which databases may be created and dropped."""
    return os.environ.get("ELDERCARE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_ADMIN_URL)


@contextmanager
def scratch_postgres(
    admin_url: str | None = None, *, prefix: str = "eldercare_test", migrate: bool = True
) -> Iterator[str]:
    """A new PostgreSQL database (migrated unless ``migrate=False``); its URL.

    Creating it raises ``sqlalchemy.exc.OperationalError`` when no server answers.
    """
    admin_url = admin_url or postgres_admin_url()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        try:
            if migrate:
                upgrade(url)
            yield url
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@contextmanager
def scratch_database(
    kind: Literal["sqlite", "postgresql"], *, prefix: str = "eldercare_test"
) -> Iterator[str]:
    """An empty migrated database of either kind: a temporary SQLite file (WAL) or a
    throwaway PostgreSQL database; its URL."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{tmp}/{prefix}.db"
            upgrade(url)
            yield url
        return
    with scratch_postgres(prefix=prefix) as url:
        yield url
