"""Import baseline elder records from CSV or XLSX: validate every row first, then all or nothing.

Keyed by national ID, so importing the same file twice changes nothing.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, select

from server.audit import service as audit
from server.auth.models import User
from server.common.time import utcnow
from server.elders import service as elders_service
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


def read_rows(path: Path) -> list[dict[str, str]]:
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True, data_only=True).active
        values = [
            ["" if c is None else _cell_text(c) for c in row]
            for row in sheet.iter_rows(values_only=True)
        ]
        if not values:
            return []
        header = [h.strip() for h in values[0]]
        return [dict(zip(header, row, strict=False)) for row in values[1:]]
    text = path.read_text(encoding="utf-8-sig")
    return [
        {k.strip(): (v or "") for k, v in row.items() if k}
        for row in csv.DictReader(io.StringIO(text))
    ]


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
            problems.append((column, str(exc)))
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
        errors.append(RowError(row=1, column=column, reason="unknown column"))
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


def import_elders(
    session: Session, *, rows: list[dict[str, str]], actor: User | None
) -> ImportReport:
    valid, errors = validate(rows)
    report = ImportReport(errors=errors)
    if errors:
        return report
    for record in valid:
        values = record.model_dump(exclude={"emergency_contacts"})
        existing = elders_service.find_by_national_id(session, record.national_id)
        if existing is None:
            elder = Elder(**values)
            session.add(elder)
            session.flush()
            _set_contacts(session, elder, record.emergency_contacts)
            report.created += 1
            action = "create"
            changed = list(values)
        else:
            # Only columns the file actually carries are compared and changed.
            changed = [k for k, v in values.items() if getattr(existing, k) != v]
            contacts_changed = record.emergency_contacts and _contacts_differ(
                session, existing, record.emergency_contacts
            )
            if not changed and not contacts_changed:
                report.unchanged += 1
                continue
            for name in changed:
                setattr(existing, name, values[name])
            existing.version += 1
            existing.updated_at = utcnow()
            session.add(existing)
            if contacts_changed:
                _set_contacts(session, existing, record.emergency_contacts)
            elder = existing
            report.updated += 1
            action = "update"
        audit.record(
            session, actor=actor, action=action, entity="elder", entity_id=elder.id,
            elder_id=elder.id, fields=changed, detail={"source": "import"},
        )  # fmt: skip
    session.flush()
    return report


def _contacts_differ(session: Session, elder: Elder, contacts: list[ContactIn]) -> bool:
    current = session.exec(
        select(EmergencyContact).where(EmergencyContact.elder_id == elder.id)
    ).all()
    have = {(c.name, c.relation, c.phone) for c in current}
    want = {(c.name, c.relation, c.phone) for c in contacts}
    return not want <= have


def _set_contacts(session: Session, elder: Elder, contacts: list[ContactIn]) -> None:
    existing = session.exec(
        select(EmergencyContact).where(EmergencyContact.elder_id == elder.id)
    ).all()
    keep = {(c.name, c.relation, c.phone) for c in existing}
    for position, contact in enumerate(contacts, start=len(existing)):
        if (contact.name, contact.relation, contact.phone) not in keep:
            session.add(
                EmergencyContact(elder_id=elder.id, position=position, **contact.model_dump())
            )
