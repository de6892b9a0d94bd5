"""Import baseline elder records from CSV or XLSX: validate every row first, then all or nothing.

Keyed by national ID, so importing the same file twice changes nothing.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlmodel import Session, SQLModel, col, select

from server.audit.models import AuditEntry
from server.auth.models import User
from server.common.time import utcnow
from server.elders.models import Elder, EmergencyContact
from server.elders.schemas import ContactIn, ElderCreate

COLUMNS = (
    "national_id", "title", "first_name", "last_name", "birth_date", "sex", "phone", "address",
    "community", "latitude", "longitude", "access_notes", "lives_alone", "has_carer", "mobility",
    "fall_risk", "falls_past_year", "chronic_conditions", "medications", "allergies", "adl_score",
    "status", "contact_name", "contact_relation", "contact_phone",
)  # fmt: skip
REQUIRED = ("national_id", "first_name", "last_name", "birth_date", "sex", "address", "community")
_TRUE = {"1", "true", "yes", "y", "ใช่", "มี"}
_FALSE = {"0", "false", "no", "n", "ไม่ใช่", "ไม่มี", ""}


@dataclass(frozen=True)
class RowError:
    row: int  # as a spreadsheet shows it: the header is row 1
    column: str
    reason: str


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class UnreadableFile(ValueError):
    """The file is not a table this importer can read exactly; the message says why."""


# A cell longer than any column allows is refused by the row checks; this bounds what is read.
MAX_CELL_CHARS = 10_000


def read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV (UTF-8) or .xlsx file, each a dict by header. Raises `UnreadableFile`
    for a file that cannot be read exactly: another encoding, a formula, a row with more cells
    than the header, a header naming a column twice, NUL bytes, a cell past MAX_CELL_CHARS."""
    if path.suffix.lower() == ".xlsx":
        return _xlsx_rows(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            f"the file is not UTF-8 text (byte {exc.start} is not valid UTF-8); save it as "
            "'CSV UTF-8' (Thai Windows files are often TIS-620 / Windows-874)"
        ) from None
    if "\x00" in text:
        raise UnreadableFile("the file contains NUL bytes: it is not a CSV text file")
    reader = csv.reader(io.StringIO(text, newline=""))
    table: list[list[str]] = []
    try:
        table.extend(reader)
    except csv.Error as exc:
        reason = (
            f"a cell is longer than {MAX_CELL_CHARS} characters, or a quote is never closed"
            if "field limit" in str(exc)
            else f"the CSV is malformed ({exc})"
        )
        raise UnreadableFile(f"line {reader.line_num}: {reason}") from None
    return _as_dicts(table)


def _xlsx_rows(path: Path) -> list[dict[str, str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign file
        raise UnreadableFile(f"not a readable .xlsx workbook ({type(exc).__name__})") from None
    try:
        table: list[list[str]] = []
        for number, row in enumerate(book.active.iter_rows(), start=1):
            cells: list[str] = []
            for cell in row:
                if getattr(cell, "data_type", None) == "f":
                    raise UnreadableFile(
                        f"row {number}: cell {cell.coordinate} is a formula; "
                        "paste the sheet as values before importing"
                    )
                cells.append("" if cell.value is None else _cell_text(cell.value))
            table.append(cells)
    finally:
        book.close()
    return _as_dicts(table)


def _as_dicts(table: list[list[str]]) -> list[dict[str, str]]:
    while table and not any(c.strip() for c in table[-1]):
        table.pop()
    if not table:
        return []
    header = [h.strip() for h in table[0]]
    while header and not header[-1]:
        header.pop()
    named = [h for h in header if h]
    twice = sorted({h for h in named if named.count(h) > 1})
    if twice:
        raise UnreadableFile(f"the header names a column twice: {', '.join(twice)[:200]}")
    rows: list[dict[str, str]] = []
    for number, cells in enumerate(table[1:], start=2):
        extra = [c for c in cells[len(header) :] if c.strip()]
        if extra:
            raise UnreadableFile(f"row {number} has more cells than the header has columns")
        for c in cells:
            if len(c) > MAX_CELL_CHARS:
                raise UnreadableFile(
                    f"row {number} has a cell of {len(c)} characters (at most {MAX_CELL_CHARS})"
                )
        if not any(c.strip() for c in cells):
            continue  # a blank line between records
        padded = [*cells[: len(header)], *[""] * (len(header) - len(cells))]
        rows.append({h: v for h, v in zip(header, padded, strict=True) if h})
    return rows


def _cell_text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _bool(value: str) -> bool:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ValueError(f"expected yes/no, got {value!r}")


def _birth_date(value: str) -> date:
    parsed = date.fromisoformat(value.strip())
    # Thai records often carry Buddhist Era years (พ.ศ. = ค.ศ. + 543).
    return parsed.replace(year=parsed.year - 543) if parsed.year > 2400 else parsed


def _convert(raw: dict[str, str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    data: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for column in REQUIRED:
        if not (raw.get(column) or "").strip():
            problems.append((column, "required"))
    converters: dict[str, Any] = {
        "birth_date": _birth_date,
        "lives_alone": _bool,
        "has_carer": _bool,
        "fall_risk": _bool,
        "latitude": float,
        "longitude": float,
        "falls_past_year": int,
        "adl_score": int,
        "chronic_conditions": lambda v: [c.strip() for c in v.split(";") if c.strip()],
    }
    for column in COLUMNS:
        if column.startswith("contact_"):
            continue
        value = (raw.get(column) or "").strip()
        if value == "" and column not in ("lives_alone", "has_carer", "fall_risk"):
            continue
        if value == "":
            continue
        try:
            data[column] = converters.get(column, str)(value)
        except ValueError as exc:
            problems.append((column, str(exc)[:200]))
    if (raw.get("contact_name") or "").strip():
        data["emergency_contacts"] = [
            {
                "name": raw.get("contact_name", "").strip(),
                "relation": (raw.get("contact_relation") or "").strip() or "-",
                "phone": (raw.get("contact_phone") or "").strip(),
            }
        ]
    return data, problems


def validate(rows: list[dict[str, str]]) -> tuple[list[ElderCreate], list[RowError]]:
    valid: list[ElderCreate] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    unknown = sorted({k for row in rows for k in row} - set(COLUMNS))
    for column in unknown:
        errors.append(RowError(row=1, column=column[:100], reason="unknown column"))
    for index, raw in enumerate(rows, start=2):
        data, problems = _convert(raw)
        errors.extend(RowError(row=index, column=c, reason=r) for c, r in problems)
        if problems:
            continue
        try:
            elder = ElderCreate.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                loc = [str(p) for p in err["loc"]]
                column = "contact_" + loc[-1] if loc and loc[0] == "emergency_contacts" else loc[0]
                errors.append(RowError(row=index, column=column, reason=err["msg"]))
            continue
        if elder.national_id in seen:
            errors.append(
                RowError(
                    row=index,
                    column="national_id",
                    reason=f"same national ID as row {seen[elder.national_id]}",
                )
            )
            continue
        seen[elder.national_id] = index
        valid.append(elder)
    return valid, errors


# Rows per multi-row INSERT batch: large enough that a 100,000-row file is a few hundred
# statements, small enough that one batch's parameters stay a few megabytes.
BATCH = 2_000
ANALYZE_AFTER = 1_000  # new elders in one import from which PostgreSQL's statistics are refreshed


def import_elders(
    session: Session, *, rows: list[dict[str, str]], actor: User | None
) -> ImportReport:
    valid, errors = validate(rows)
    report = ImportReport(errors=errors)
    if errors:
        return report
    known = _existing(session, [r.national_id for r in valid])
    contacts = _contacts_of(session, [e.id for e in known.values()])
    now = utcnow()
    new_elders: list[dict[str, Any]] = []
    new_contacts: list[dict[str, Any]] = []
    audited: list[tuple[str, uuid.UUID, list[str]]] = []  # action, elder, fields changed
    for record in valid:
        values = record.model_dump(exclude={"emergency_contacts"})
        existing = known.get(record.national_id)
        if existing is None:
            # A new record: plain rows for one multi-row INSERT per batch, no ORM object, no
            # lookup and no statement of its own, so 100,000 rows take seconds, not minutes.
            elder_id = uuid.uuid4()
            new_elders.append(
                {**values, "id": elder_id, "version": 1, "created_at": now, "updated_at": now}
            )
            for position, contact in enumerate(record.emergency_contacts):
                new_contacts.append(
                    {"id": uuid.uuid4(), "elder_id": elder_id, "position": position,
                     **contact.model_dump()}
                )  # fmt: skip
            report.created += 1
            audited.append(("create", elder_id, list(values)))
            continue
        # Only columns the file actually carries are compared and changed.
        changed = [k for k, v in values.items() if getattr(existing, k) != v]
        have = contacts.get(existing.id, [])
        contacts_changed = bool(record.emergency_contacts) and _contacts_differ(
            have, record.emergency_contacts
        )
        if not changed and not contacts_changed:
            report.unchanged += 1
            continue
        for name in changed:
            setattr(existing, name, values[name])
        existing.version += 1
        existing.updated_at = now
        session.add(existing)
        if contacts_changed:
            _set_contacts(session, existing, have, record.emergency_contacts)
        report.updated += 1
        audited.append(("update", existing.id, changed))
    _insert(session, Elder, new_elders)
    _insert(session, EmergencyContact, new_contacts)
    # One audit row per elder created or changed, as for any other write: an elder's audit
    # trail shows the import. Written as multi-row INSERTs like the rows themselves.
    _insert(session, AuditEntry, [
        {"at": now, "actor_id": actor.id if actor else None,
         "actor_username": actor.username if actor else None,
         "actor_role": str(actor.role) if actor else None, "action": action,
         "entity": "elder", "entity_id": str(elder_id), "elder_id": elder_id,
         "fields": sorted(set(fields)), "request_id": None, "detail": {"source": "import"}}
        for action, elder_id, fields in audited
    ])  # fmt: skip
    session.flush()
    if len(new_elders) >= ANALYZE_AFTER and session.get_bind().dialect.name == "postgresql":
        # PostgreSQL plans from statistics that still describe the table before this import
        # until autovacuum catches up: the next lookup by national ID (a re-import of the
        # corrected file, say) then scans the whole table, 65 times slower at 100,000 rows.
        session.execute(sa.text("ANALYZE elders, emergency_contacts"))
    return report


def _insert(session: Session, model: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    table = model.__table__  # type: ignore[attr-defined]
    for start in range(0, len(rows), BATCH):
        session.execute(sa.insert(table), rows[start : start + BATCH])


def _existing(session: Session, national_ids: list[str]) -> dict[str, Elder]:
    """The elders already registered under these national IDs, in a few queries."""
    found: dict[str, Elder] = {}
    for start in range(0, len(national_ids), 1000):
        chunk = national_ids[start : start + 1000]
        for elder in session.exec(select(Elder).where(col(Elder.national_id).in_(chunk))):
            found[elder.national_id] = elder
    return found


def _contacts_of(
    session: Session, elder_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[EmergencyContact]]:
    """These elders' emergency contacts, in a few queries (not one per row of the file)."""
    found: dict[uuid.UUID, list[EmergencyContact]] = {}
    for start in range(0, len(elder_ids), 1000):
        chunk = elder_ids[start : start + 1000]
        for contact in session.exec(
            select(EmergencyContact).where(col(EmergencyContact.elder_id).in_(chunk))
        ):
            found.setdefault(contact.elder_id, []).append(contact)
    return found


def _contacts_differ(current: list[EmergencyContact], contacts: list[ContactIn]) -> bool:
    have = {(c.name, c.relation, c.phone) for c in current}
    want = {(c.name, c.relation, c.phone) for c in contacts}
    return not want <= have


def _set_contacts(
    session: Session, elder: Elder, existing: list[EmergencyContact], contacts: list[ContactIn]
) -> None:
    keep = {(c.name, c.relation, c.phone) for c in existing}
    for position, contact in enumerate(contacts, start=len(existing)):
        if (contact.name, contact.relation, contact.phone) not in keep:
            session.add(
                EmergencyContact(elder_id=elder.id, position=position, **contact.model_dump())
            )
