"""Engine and sessions for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import CursorResult, Dialect, Engine
from sqlmodel import Session, create_engine

from server.common.time import as_utc


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on SQLite (which has no time zones) too."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    # FULL: a commit is on disk before it returns, so what the server acks (a hub's events,
    # a dispatcher's action) survives a power cut, not only a process kill. NORMAL in WAL
    # mode could lose the last commits after the hub had deleted them on the ack.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


# A PostgreSQL engine's pool: connections kept, and how many more it may open at a peak.
POOL_SIZE = 10
POOL_MAX_OVERFLOW = 20


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 10}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_size", POOL_SIZE)
    kwargs.setdefault("max_overflow", POOL_MAX_OVERFLOW)
    return create_engine(url, pool_pre_ping=True, **kwargs)


def session_scope(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


def str_enum(enum_cls: type[StrEnum], length: int = 32) -> sa.Enum:
    """A string column that reads back as the enum (stored as its value, no DB enum type)."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def updated_one(
    session: Session, statement: sa.Update, *, options: Mapping[str, Any] | None = None
) -> bool:
    """Runs a conditional UPDATE and says whether it changed exactly one row: whether its
    WHERE (the version the edit was based on, the status a transition starts from, a timer
    still pending) held when it ran. False means nothing changed; the caller says what that
    means (409, skipped, another process got there first)."""
    result = session.execute(statement, execution_options=options or {})
    return cast("CursorResult[Any]", result).rowcount == 1
