"""Fan-out of "alert X changed" to every console, in this process and in the others.

Writers call `mark_changed(session, alert_id)` inside their transaction. On PostgreSQL that
queues a NOTIFY, which the database delivers to every listening server process only if and
when the transaction commits. On SQLite (one process) an after-commit hook publishes to the
in-process hub. Messages carry ids only; readers re-read the rows.
"""

from server.realtime.hub import (
    RESYNC,
    Hub,
    Subscription,
    hub_for,
    hub_key,
    mark_changed,
    mark_many_changed,
)
from server.realtime.listener import PgListener, start_listener, stop_listener

__all__ = [
    "RESYNC",
    "Hub",
    "PgListener",
    "Subscription",
    "hub_for",
    "hub_key",
    "mark_changed",
    "mark_many_changed",
    "start_listener",
    "stop_listener",
]
