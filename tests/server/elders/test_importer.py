from __future__ import annotations

import csv
from pathlib import Path

import sqlalchemy as sa
from openpyxl import Workbook
from sqlmodel import Session, func, select

from server.audit.models import AuditEntry
from server.auth.models import Role, User
from server.elders.importer import COLUMNS, import_elders, read_rows
from server.elders.models import Elder, EmergencyContact
from tests.support.records import thai_id


def _row(**overrides: str) -> dict[str, str]:
    row = {c: "" for c in COLUMNS}
    row.update(
        national_id=thai_id(),
        first_name="สมศรี",
        last_name="ใจดี",
        birth_date="2490-05-01",  # Buddhist Era, as Thai records often have it
        sex="female",
        address="1 หมู่ 2",
        community="ชุมชนบ้านเก่า",
        lives_alone="ใช่",
        has_carer="no",
        chronic_conditions="เบาหวาน; ความดันโลหิตสูง",
        adl_score="9",
        contact_name="สมใจ",
        contact_relation="ลูก",
        contact_phone="0812345678",
    )
    row.update(overrides)
    return row


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Elder)).one()


def test_csv_import_is_idempotent(session: Session, tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "elders.csv", [_row(), _row(first_name="มานพ", sex="male")])
    first = import_elders(session, rows=read_rows(path), actor=None)
    assert (first.created, first.updated, first.unchanged, first.errors) == (2, 0, 0, [])
    elder = session.exec(select(Elder).where(Elder.first_name == "สมศรี")).one()
    assert elder.birth_date.year == 1947 and elder.lives_alone and not elder.has_carer
    assert elder.chronic_conditions == ["เบาหวาน", "ความดันโลหิตสูง"]
    second = import_elders(session, rows=read_rows(path), actor=None)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 2)
    assert _count(session) == 2


def test_one_bad_row_imports_nothing_and_names_every_problem(
    session: Session, tmp_path: Path
) -> None:
    rows = [
        _row(),
        _row(national_id="1111111111111", adl_score="30"),
        _row(birth_date="not a date", first_name=""),
    ]
    report = import_elders(
        session, rows=read_rows(_write_csv(tmp_path / "bad.csv", rows)), actor=None
    )
    assert not report.ok
    problems = {(e.row, e.column) for e in report.errors}
    assert {(3, "national_id"), (3, "adl_score"), (4, "birth_date"), (4, "first_name")} <= problems
    assert _count(session) == 0


def test_duplicate_ids_in_one_file_are_caught(session: Session, tmp_path: Path) -> None:
    same = thai_id()
    report = import_elders(
        session,
        rows=read_rows(
            _write_csv(tmp_path / "d.csv", [_row(national_id=same), _row(national_id=same)])
        ),
        actor=None,
    )
    assert [(e.row, e.column) for e in report.errors] == [(3, "national_id")]


def test_xlsx_import(session: Session, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(list(COLUMNS))
    sheet.append([_row()[c] for c in COLUMNS])
    path = tmp_path / "elders.xlsx"
    book.save(path)
    report = import_elders(session, rows=read_rows(path), actor=None)
    assert report.created == 1, report.errors


def test_five_thousand_rows_import_exactly_in_a_few_statements(
    session: Session, tmp_path: Path, users: dict[Role, User]
) -> None:
    """Bulk, not per row: one elder, one contact and one audit row per line of the file, no
    national ID twice, in a handful of multi-row INSERTs; then an update changes only the
    rows that differ."""
    rows = [_row(last_name=f"ใจดี{i}") for i in range(5_000)]
    path = _write_csv(tmp_path / "many.csv", rows)
    engine = session.get_bind()
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        report = import_elders(session, rows=read_rows(path), actor=users[Role.ADMIN])
        session.commit()
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert (report.created, report.updated, report.unchanged, report.errors) == (5_000, 0, 0, [])
    # 5 lookups of existing IDs (1,000 a query); elders, contacts, audit in batches of 2,000.
    assert len(statements) <= 20, len(statements)
    assert _count(session) == 5_000
    if engine.dialect.name == "postgresql":
        # Statistics refreshed by the import: without them PostgreSQL plans the next lookup
        # by national ID as if the table were empty, and a re-import scans it every time.
        planned = session.execute(
            sa.text("SELECT reltuples FROM pg_class WHERE relname IN ('elders', 'emergency_contacts')")
        ).scalars().all()  # fmt: skip
        assert planned == [5_000, 5_000], planned
    distinct = session.exec(select(func.count(sa.distinct(Elder.national_id)))).one()
    assert distinct == 5_000
    assert {r["last_name"] for r in rows} == set(session.exec(select(Elder.last_name)).all())
    contacts = session.exec(
        select(EmergencyContact.elder_id, func.count()).group_by(EmergencyContact.elder_id)
    ).all()
    assert len(contacts) == 5_000 and {n for _, n in contacts} == {1}
    audited = session.exec(
        select(AuditEntry.elder_id, AuditEntry.action, AuditEntry.actor_username, AuditEntry.detail)
        .where(AuditEntry.entity == "elder")
    ).all()  # fmt: skip
    assert len(audited) == 5_000 and len({a[0] for a in audited}) == 5_000
    assert {(a[1], a[2], a[3]["source"]) for a in audited} == {("create", "admin", "import")}

    rows[7]["phone"] = "0899999999"
    rows[8]["contact_name"] = "สมหมาย"
    again = import_elders(session, rows=read_rows(_write_csv(path, rows)), actor=None)
    session.commit()
    assert (again.created, again.updated, again.unchanged) == (0, 2, 4_998)
    changed = session.exec(select(Elder).where(Elder.national_id == rows[7]["national_id"])).one()
    assert (changed.phone, changed.version) == ("0899999999", 2)
    other = session.exec(select(Elder).where(Elder.national_id == rows[8]["national_id"])).one()
    names = session.exec(
        select(EmergencyContact.name).where(EmergencyContact.elder_id == other.id)
    ).all()
    assert sorted(names) == ["สมหมาย", "สมใจ"]
    assert (
        session.exec(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "update")
        ).one()
        == 2
    )
