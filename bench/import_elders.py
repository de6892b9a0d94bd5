"""Elder import end to end: a CSV of ``--rows`` new elders (each with an emergency contact)
read, validated, imported and committed, then the same file again (every row unchanged).

Prints per database: read + validate, import + commit (rows/s, SQL statements, CPU time of
this process) and the second pass; and checks the import was exact (one elder per row, one
contact each, one audit row each, no national ID twice).

Run: python bench/import_elders.py [--rows 100000] [--db sqlite postgresql]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bench._server import bench_database, machine_line  # noqa: E402
from bench.sync import counted  # noqa: E402
from server.common import thai_id  # noqa: E402
from server.db import make_engine  # noqa: E402
from server.elders.importer import COLUMNS, import_elders, read_rows, validate  # noqa: E402


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(COLUMNS))
        writer.writeheader()
        for n in range(rows):
            writer.writerow({
                **{c: "" for c in COLUMNS},
                "national_id": thai_id.with_check_digit(f"5{n:011d}"),
                "title": "นาง", "first_name": "สมศรี", "last_name": f"ใจดี{n}",
                "birth_date": "2490-05-01", "sex": "female", "address": f"{n} หมู่ 2",
                "community": f"ชุมชน{n % 40}", "lives_alone": "ใช่", "has_carer": "no",
                "chronic_conditions": "เบาหวาน; ความดันโลหิตสูง", "adl_score": str(n % 21),
                "contact_name": "สมใจ", "contact_relation": "ลูก", "contact_phone": "0812345678",
            })  # fmt: skip


def counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            "elders": conn.execute(sa.text("SELECT count(*) FROM elders")).scalar_one(),
            "distinct ids": conn.execute(
                sa.text("SELECT count(DISTINCT national_id) FROM elders")
            ).scalar_one(),
            "contacts": conn.execute(
                sa.text("SELECT count(*) FROM emergency_contacts")
            ).scalar_one(),
            "audit rows": conn.execute(
                sa.text("SELECT count(*) FROM audit_log WHERE entity = 'elder'")
            ).scalar_one(),
        }


def run(kind: str, path: Path, rows: int) -> None:
    t0 = time.perf_counter()
    read = read_rows(path)
    valid, errors = validate(read)
    check_s = time.perf_counter() - t0
    assert not errors and len(valid) == rows, errors[:3]
    with bench_database(kind) as url:
        engine = make_engine(url)
        passes = []
        for _ in range(2):
            with Session(engine) as session, counted(engine) as q:
                t0, c0 = time.perf_counter(), time.process_time()
                report = import_elders(session, rows=read_rows(path), actor=None)
                session.commit()
                passes.append((time.perf_counter() - t0, time.process_time() - c0, q.count, report))
        found = counts(engine)
        engine.dispose()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n[{kind}] {rows} rows; load average {load}")
    print(f"  read + validate:  {check_s:6.1f} s  ({rows / check_s:,.0f} rows/s)")
    (wall, cpu, statements, first), (wall2, cpu2, statements2, second) = passes
    print(f"  import + commit:  {wall:6.1f} s  ({rows / wall:,.0f} rows/s; CPU {cpu:.1f} s; "
          f"{statements} SQL statements) created {first.created}")  # fmt: skip
    print(f"  same file again:  {wall2:6.1f} s  ({rows / wall2:,.0f} rows/s; CPU {cpu2:.1f} s; "
          f"{statements2} SQL statements) unchanged {second.unchanged}")  # fmt: skip
    exact = (
        found["elders"] == found["distinct ids"] == found["contacts"] == found["audit rows"] == rows
        and first.created == second.unchanged == rows
    )
    print(f"  in the database: {found}: {'exact' if exact else 'NOT EXACT'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    print(machine_line())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "elders.csv"
        write_csv(path, args.rows)
        for kind in args.db:
            run(kind, path, args.rows)


if __name__ == "__main__":
    main()
