"""Backups on both databases: made while hubs write, restored into a fresh database, every
table compared; damaged, truncated or foreign files refused with a clear error."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlmodel import Session

from server.audit import service as audit
from server.auth.models import Role, User
from server.backup.service import (
    BackupError,
    apply_retention,
    backup_key,
    create_backup,
    read_header,
    restore_backup,
)
from server.cli import main
from server.models_registry import metadata
from tests.server.reports.seed import seed
from tests.support.records import make_elder
from tests.support.tiers import postgres_admin_url

KEY = backup_key(key=None, secret_key="k" * 40)
WRITER_TABLE = "login_attempts"


@pytest.fixture
def restore_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"eldercare_restore_{uuid.uuid4().hex[:8]}"
    yield make_url(db_url).set(database=name).render_as_string(hide_password=False)
    admin = sa.create_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def rows(url: str, table: sa.Table) -> list[tuple[object, ...]]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            order = list(table.primary_key.columns) or list(table.columns)
            return [tuple(r) for r in conn.execute(sa.select(table).order_by(*order))]
    finally:
        engine.dispose()


@pytest.fixture
def seeded(session: Session, users: dict[Role, User]) -> None:
    seed(session, users[Role.CAREGIVER])
    for _ in range(20):
        elder = make_elder(session)
        audit.record(session, actor=users[Role.ADMIN], action="read", entity="elder",
                     entity_id=elder.id, elder_id=elder.id, fields=["address"])  # fmt: skip
    session.commit()


def test_backup_while_writing_restores_every_table(
    db_url: str, restore_url: str, tmp_path: Path, seeded: None
) -> None:
    stop = threading.Event()
    written = 0

    def hub_writes() -> None:
        nonlocal written
        engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
        try:
            while not stop.is_set():
                with engine.begin() as conn:
                    conn.execute(
                        sa.text("INSERT INTO login_attempts (username, success, at) "
                                "VALUES (:u, :s, CURRENT_TIMESTAMP)"),
                        {"u": f"hub-{written}", "s": True},
                    )  # fmt: skip
                written += 1
        finally:
            engine.dispose()

    writer = threading.Thread(target=hub_writes)
    writer.start()
    try:
        while written < 20:
            stop.wait(0.01)
        result = create_backup(database_url=db_url, directory=tmp_path / "backups", key=KEY)
        while written < result.tables[WRITER_TABLE] + 20:  # still writing after the copy
            stop.wait(0.01)
    finally:
        stop.set()
        writer.join()
    assert result.path.name.startswith("eldercare-") and result.path.suffix == ".ecbk"
    assert (result.path.parent / (result.path.name + ".sha256")).is_file()
    assert "ลับเฉพาะ".encode() not in result.path.read_bytes()  # names are not in the clear

    report = restore_backup(path=result.path, target_url=restore_url, key=KEY)
    assert report.ok, report.problems
    for table in metadata.sorted_tables:
        restored = rows(restore_url, table)
        live = rows(db_url, table)
        if table.name == WRITER_TABLE:
            # The backup holds the rows committed when it was taken, and those exactly.
            assert len(restored) == result.tables[WRITER_TABLE] < len(live)
            assert restored == live[: len(restored)]
        else:
            assert restored == live, table.name
    assert sum(result.tables.values()) > 50


def test_damaged_backups_are_refused(
    db_url: str, restore_url: str, tmp_path: Path, seeded: None
) -> None:
    good = create_backup(database_url=db_url, directory=tmp_path / "b", key=KEY).path
    data = good.read_bytes()
    header_end = 12 + int.from_bytes(data[8:12], "big")

    flipped = tmp_path / "flipped.ecbk"
    middle = header_end + (len(data) - header_end) // 2
    flipped.write_bytes(data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1 :])
    truncated = tmp_path / "truncated.ecbk"
    truncated.write_bytes(data[: len(data) - 1000])
    foreign = tmp_path / "foreign.ecbk"
    foreign.write_bytes(b"SQLite format 3\x00" + data[16:])
    cases = [
        (flipped, KEY, "corrupted"),
        (truncated, KEY, "truncated"),
        (foreign, KEY, "not an eldercare backup"),
        (good, backup_key(key=None, secret_key="another secret " * 3), "key is wrong"),
    ]
    for path, key, message in cases:
        with pytest.raises(BackupError, match=message):
            restore_backup(path=path, target_url=restore_url, key=key)
    # Nothing was restored by a refused file: the good one still restores into the target.
    assert restore_backup(path=good, target_url=restore_url, key=KEY).ok
    with pytest.raises(BackupError, match="restore into a new"):
        restore_backup(path=good, target_url=restore_url, key=KEY)


def test_retention_by_count_and_age(tmp_path: Path) -> None:
    import os
    import time

    now = time.time()
    for i in range(6):
        path = tmp_path / f"eldercare-sqlite-2026010{i}T000000000Z.ecbk"
        path.write_bytes(b"x")
        age_days = 50 if i == 0 else 6 - i
        os.utime(path, (now - age_days * 86400, now - age_days * 86400))
    removed = apply_retention(tmp_path, keep_count=4, keep_days=35)
    kept = sorted(p.name for p in tmp_path.glob("*.ecbk"))
    assert len(kept) == 4 and len(removed) == 2
    assert "eldercare-sqlite-20260100T000000000Z.ecbk" not in kept  # oldest and too old


def test_cli_backup_and_restore(
    db_url: str, restore_url: str, tmp_path: Path, seeded: None,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from server.config import get_settings

    monkeypatch.setenv("ELDERCARE_DATABASE_URL", db_url)
    monkeypatch.setenv("ELDERCARE_SECRET_KEY", "s" * 40)
    get_settings.cache_clear()
    try:
        assert main(["backup", "--dir", str(tmp_path / "cli")]) == 0
        [made] = (tmp_path / "cli").glob("*.ecbk")
        assert read_header(made)["tables"]["elders"] == 27
        assert main(["restore", str(made), "--into", restore_url]) == 0
        assert "verified" in capsys.readouterr().out
        bad = tmp_path / "bad.ecbk"
        bad.write_bytes(made.read_bytes()[:200])
        assert main(["restore", str(bad), "--into", restore_url + "x"]) == 1
        assert "restore refused: backup is truncated" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()
