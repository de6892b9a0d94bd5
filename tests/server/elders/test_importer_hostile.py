"""Import files that lie or overflow: another encoding, NUL bytes, huge cells, formulas,
ragged rows, 100,000 rows. Each is refused with a reason that says what to fix, or imported
exactly; a refused file imports nothing."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlmodel import Session, func, select

from server.elders.importer import (
    COLUMNS,
    MAX_CELL_CHARS,
    UnreadableFile,
    import_elders,
    read_rows,
    validate,
)
from server.elders.models import Elder
from tests.support.records import thai_id

BASE = {
    "first_name": "สมศรี",
    "last_name": "ใจดี",
    "birth_date": "2490-05-01",
    "sex": "female",
    "address": "1 หมู่ 2",
    "community": "ชุมชนบ้านเก่า",
}


def _row(**overrides: str) -> dict[str, str]:
    return {**{c: "" for c in COLUMNS}, "national_id": thai_id(), **BASE, **overrides}


def _csv_text(rows: list[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Elder)).one()


@pytest.mark.parametrize(
    ("encoding", "reason"),
    [("cp874", "UTF-8"), ("utf-16", "UTF-8"), ("tis-620", "TIS-620")],
)
def test_a_file_in_another_encoding_is_refused_saying_so(
    tmp_path: Path, encoding: str, reason: str
) -> None:
    path = tmp_path / "elders.csv"
    path.write_bytes(_csv_text([_row()]).encode(encoding))
    with pytest.raises(UnreadableFile, match=reason):
        read_rows(path)


def test_broken_bytes_nul_and_ragged_rows_are_refused(tmp_path: Path) -> None:
    good = _csv_text([_row()])
    cases = {
        "cut.csv": good.encode()[:-3] + b"\xe0\xb8",  # a Thai character cut in half
        "nul.csv": good.encode().replace(b"1 ", b"1\x00", 1),
        "extra.csv": (good.rstrip("\r\n") + ",surplus\r\n").encode(),
        "twice.csv": good.replace("phone", "address", 1).encode(),
        "quote.csv": good.encode() + b'"never closed,\r\n' + b"x" * 200_000,
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(UnreadableFile) as caught:
            read_rows(path)
        assert str(caught.value), name


def test_huge_cells_are_refused_with_their_row_and_size(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    path.write_text(_csv_text([_row(), _row(address="ก" * 500_000)]), encoding="utf-8")
    with pytest.raises(UnreadableFile, match=r"line 3: a cell is longer than 10000"):
        read_rows(path)
    path.write_text(_csv_text([_row(), _row(address="ก" * 50_000)]), encoding="utf-8")
    with pytest.raises(UnreadableFile, match=r"row 3 has a cell of 50000 characters"):
        read_rows(path)
    # Long but readable: the row check names the column and stays short.
    path.write_text(_csv_text([_row(first_name="x" * MAX_CELL_CHARS)]), encoding="utf-8")
    _, errors = validate(read_rows(path))
    assert [(e.row, e.column) for e in errors] == [(2, "first_name")]
    path.write_text(_csv_text([_row(latitude="9" * MAX_CELL_CHARS)]), encoding="utf-8")
    _, errors = validate(read_rows(path))
    assert [e.column for e in errors] == ["latitude"]
    assert all(len(e.reason) <= 200 for e in errors)


def test_formula_text_in_a_csv_is_imported_exactly_as_text(
    session: Session, tmp_path: Path
) -> None:
    # Text, not a formula here: stored as written; every export escapes it (reports, notices).
    path = tmp_path / "formula.csv"
    name = '=HYPERLINK("http://example.invalid","x")'
    path.write_text(_csv_text([_row(first_name=name[:100], access_notes="+1-2@")]), "utf-8")
    report = import_elders(session, rows=read_rows(path), actor=None)
    assert report.ok and report.created == 1, report.errors
    elder = session.exec(select(Elder)).one()
    assert elder.first_name == name[:100] and elder.access_notes == "+1-2@"


def test_an_xlsx_formula_or_a_damaged_workbook_is_refused(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(list(COLUMNS))
    row = _row()
    sheet.append([row[c] for c in COLUMNS])
    sheet.cell(row=2, column=COLUMNS.index("phone") + 1, value="=A2&B2")
    path = tmp_path / "formula.xlsx"
    book.save(path)
    with pytest.raises(UnreadableFile, match=r"row 2: cell G2 is a formula"):
        read_rows(path)
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    with pytest.raises(UnreadableFile, match="xlsx"):
        read_rows(fake)
    renamed = tmp_path / "renamed.xlsx"
    renamed.write_text(_csv_text([row]), encoding="utf-8")
    with pytest.raises(UnreadableFile, match="xlsx"):
        read_rows(renamed)


def test_a_hundred_thousand_rows_are_read_and_validated_exactly(tmp_path: Path) -> None:
    rows = [_row(last_name=f"ใจดี{i}") for i in range(100_000)]
    path = tmp_path / "big.csv"
    path.write_text(_csv_text(rows), encoding="utf-8")
    read = read_rows(path)
    assert len(read) == 100_000
    valid, errors = validate(read)
    assert errors == [] and len(valid) == 100_000
    assert [v.national_id for v in valid] == [r["national_id"] for r in rows]


def test_a_few_thousand_rows_are_imported_exactly_and_then_unchanged(
    session: Session, tmp_path: Path
) -> None:
    rows = [_row(last_name=f"ใจดี{i}", contact_name="สมใจ", contact_phone="0812345678",
                 contact_relation="ลูก") for i in range(2_000)]  # fmt: skip
    path = tmp_path / "some.csv"
    path.write_text(_csv_text(rows), encoding="utf-8")
    first = import_elders(session, rows=read_rows(path), actor=None)
    session.commit()
    assert (first.created, first.errors) == (2_000, [])
    again = import_elders(session, rows=read_rows(path), actor=None)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2_000)
    assert _count(session) == 2_000
    names = set(session.exec(select(Elder.last_name)).all())
    assert names == {r["last_name"] for r in rows}


def test_the_command_line_says_why_a_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "thai.csv"
    path.write_bytes(_csv_text([_row()]).encode("cp874"))
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "import", "elders", str(path)],
        capture_output=True, text=True, timeout=120,
        env={"ELDERCARE_DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "UTF-8" in result.stderr and "Traceback" not in result.stderr
