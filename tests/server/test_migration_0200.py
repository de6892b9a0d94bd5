"""Migration 0200 renames the stored catalogue keys of the old visits domain, and back."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from alembic import command
from sqlalchemy import Engine
from sqlmodel import Session

from server.alerts.models import Alert, AlertKind
from server.common.time import utcnow
from server.db import make_engine
from server.i18n import catalogue
from server.migrate import alembic_config, upgrade
from tests.support.databases import scratch_postgres
from tests.support.records import make_elder
from triage import Priority

OLD = "visits.reason.clinician_alert"
NEW = "telehealth.reason.clinician_alert"


@contextmanager
def _database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/migration.db"
    else:
        with scratch_postgres(prefix="eldercare_mig", migrate=False) as url:
            yield url


def _alert(engine: Engine, reasons: list[dict[str, object]]) -> uuid.UUID:
    with Session(engine) as session:
        elder = make_elder(session)
        session.flush()
        now = utcnow()
        alert = Alert(
            elder_id=elder.id, kind=AlertKind.VITALS, priority=Priority.RED, reasons=reasons,
            occurred_at=now, last_pressed_at=now,
        )  # fmt: skip
        session.add(alert)
        session.commit()
        return alert.id


def _keys(engine: Engine, alert_id: uuid.UUID) -> list[str]:
    with Session(engine) as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        return [r["key"] for r in alert.reasons]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_stored_reason_keys_are_renamed_and_restored(kind: str) -> None:
    with _database(kind) as url:
        # 0200 changes data only, so the models describe the schema at 0170 as well.
        upgrade(url, "0170")
        engine = make_engine(url)
        try:
            clinician = _alert(engine, [{"key": OLD, "params": {}}])
            mixed = _alert(
                engine,
                [{"key": "triage.news2.high", "params": {}}, {"key": OLD, "params": {"x": 1}}],
            )
            untouched = _alert(engine, [{"key": "triage.news2.high", "params": {}}])

            upgrade(url, "0200")
            assert _keys(engine, clinician) == [NEW]
            assert _keys(engine, mixed) == ["triage.news2.high", NEW]
            assert _keys(engine, untouched) == ["triage.news2.high"]
            with Session(engine) as session:
                alert = session.get(Alert, mixed)
                assert alert is not None and alert.reasons[1]["params"] == {"x": 1}

            command.downgrade(alembic_config(url), "0170")
            assert _keys(engine, clinician) == [OLD]
            assert _keys(engine, mixed) == ["triage.news2.high", OLD]
            assert _keys(engine, untouched) == ["triage.news2.high"]
        finally:
            engine.dispose()


def test_the_renamed_reason_is_in_the_catalogue() -> None:
    assert NEW in catalogue("th") and NEW in catalogue("en")
    assert OLD not in catalogue("th")
