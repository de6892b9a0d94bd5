"""The sync sequence: one counter whose row lock makes `seq` order equal commit order.

A transaction takes the next value once (the first time it writes a synced row) and keeps
the counter row locked until it ends, so a reader that sees counter value N has also seen
every row with `seq <= N`. That is what makes "changes since cursor N" exact on PostgreSQL
(on SQLite writers are serialised anyway).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session, col

from server.care.models import SyncCounter

_KEY = "visits.seq"


def next_seq(session: Session) -> int:
    """The seq for rows written in the current transaction (allocated once per transaction)."""
    held = session.info.get(_KEY)
    if held is not None:
        return int(held[1])
    value = session.execute(
        sa.update(SyncCounter)
        .where(col(SyncCounter.id) == 1)
        .values(value=col(SyncCounter.value) + 1)
        .returning(col(SyncCounter.value))
    ).scalar_one_or_none()
    if value is None:
        # The row is made on first use (and again after a test truncates the table).
        session.execute(sa.insert(SyncCounter).values(id=1, value=1))
        value = 1
    # Only now is a transaction sure to have begun; the seq lives and dies with it.
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info[_KEY] = (transaction, int(value))
    return int(value)


def current_seq(session: Session) -> int:
    """The last committed value: every row with seq at or below it is visible now."""
    value = session.execute(
        sa.select(col(SyncCounter.value)).where(col(SyncCounter.id) == 1)
    ).scalar_one_or_none()
    return int(value or 0)


@event.listens_for(OrmSession, "after_transaction_end")
def _forget_seq(session: OrmSession, transaction: SessionTransaction) -> None:
    held: Any = session.info.get(_KEY)
    if held is not None and held[0] is transaction:
        del session.info[_KEY]
