"""Writing and reading the audit log. Writes join the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from server.audit.models import AuditEntry
from server.auth.models import User
from server.common.time import utcnow


def record(
    session: Session,
    *,
    actor: User | None,
    action: str,
    entity: str,
    entity_id: str | uuid.UUID | None = None,
    elder_id: uuid.UUID | None = None,
    fields: Iterable[str] = (),
    request_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Adds an entry to the session; the caller's commit makes it durable with the change."""
    entry = AuditEntry(
        actor_id=actor.id if actor else None,
        actor_username=actor.username if actor else None,
        actor_role=str(actor.role) if actor else None,
        action=action,
        entity=entity,
        entity_id=str(entity_id) if entity_id is not None else None,
        elder_id=elder_id,
        fields=sorted(set(fields)),
        request_id=request_id,
        detail=detail or {},
    )
    session.add(entry)
    return entry


def write_pending(session: Session) -> None:
    """Writes the entries added to the session and not yet flushed, in one statement.

    For a caller that adds hundreds at once (a sync batch): the unit of work inserts rows
    whose id the database makes one statement each on SQLite, and nothing here needs the
    ids back. They keep the order they were added in."""
    entries = [obj for obj in session.new if isinstance(obj, AuditEntry)]
    if not entries:
        return
    entries.sort(key=lambda e: sa.inspect(e).insert_order)
    table = AuditEntry.__table__  # type: ignore[attr-defined]
    columns = [c.name for c in table.columns if c.name != "id"]
    rows = [{name: getattr(entry, name) for name in columns} for entry in entries]
    for entry in entries:
        session.expunge(entry)
    session.connection().execute(sa.insert(table), rows)


def record_reads(
    session: Session,
    *,
    actor: User,
    entity: str,
    elder_ids: Sequence[uuid.UUID],
    fields: Iterable[str],
    request_id: str | None,
) -> None:
    """One row per elder whose data a person was shown, in the caller's transaction: the
    request that showed the data commits them."""
    record_reads_by(
        session, reads=[(actor, elder_ids)], entity=entity, fields=fields, request_id=request_id
    )


def record_reads_by(
    session: Session,
    *,
    reads: Sequence[tuple[User, Sequence[uuid.UUID]]],
    entity: str,
    fields: Iterable[str],
    request_id: str | None,
) -> None:
    """`record_reads` for several people shown the same kind of data at once (every console
    shown one new alert): one statement for all of them."""
    field_list = sorted(set(fields))
    now = utcnow()
    # One multi-row INSERT: a caseload of 300 elders is 300 rows, and building each as an
    # ORM object cost more than the page's own queries.
    rows: list[dict[str, Any]] = [
        {"at": now, "actor_id": actor.id, "actor_username": actor.username,
         "actor_role": str(actor.role), "action": "read", "entity": entity,
         "entity_id": str(elder_id), "elder_id": elder_id, "fields": field_list,
         "request_id": request_id, "detail": {}}
        for actor, elder_ids in reads
        for elder_id in elder_ids
    ]  # fmt: skip
    if rows:
        session.execute(sa.insert(AuditEntry), rows)


def record_conflict_read(
    session: Session,
    *,
    actor: User,
    entity: str,
    elder_id: uuid.UUID,
    request_id: str | None,
) -> None:
    """A 409 that returns the current record shows it: audited like any read. Committed here,
    the one exception to "the request commits": the request itself ends in an error, which
    rolls back. Callers call it before changing anything, so only the audit row is stored."""
    record_reads(
        session, actor=actor, entity=entity, elder_ids=[elder_id], fields=["current_record"],
        request_id=request_id,
    )  # fmt: skip
    session.commit()


def search(
    session: Session,
    *,
    elder_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    action: str | None = None,
    entity: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AuditEntry]:
    query = select(AuditEntry)
    if elder_id:
        query = query.where(AuditEntry.elder_id == elder_id)
    if actor_id:
        query = query.where(AuditEntry.actor_id == actor_id)
    if action:
        query = query.where(AuditEntry.action == action)
    if entity:
        query = query.where(AuditEntry.entity == entity)
    if since:
        query = query.where(AuditEntry.at >= since)
    if until:
        query = query.where(AuditEntry.at < until)
    query = query.order_by(col(AuditEntry.id).desc()).offset(offset).limit(limit)
    return list(session.exec(query).all())
