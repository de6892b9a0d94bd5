"""catalogue keys of the old visits domain renamed to the domains that own them

Alerts keep their reasons as catalogue keys ([{"key": ..., "params": {...}}]); an alert a
clinician raised from a consultation holds "visits.reason.clinician_alert", which the
catalogue no longer has. No other table stores these keys: API and sync refusals are
translated when they are answered, and sync receipts keep only the result.

Revision ID: 0200
Revises: 0170
Create Date: 2026-11-30 05:00:00
"""

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0200"
down_revision: str | None = "0170"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out here, not imported: a migration must mean the same whatever the code becomes.
RENAMED = {
    "visits.plan_exists": "care.plan_exists",
    "visits.stale_version": "common.stale_version",
    "visits.field_not_editable": "care.field_not_editable",
    "visits.invalid_transition": "common.invalid_transition",
    "visits.visit_of_other_elder": "care.visit_of_other_elder",
    "visits.id_in_use": "common.id_in_use",
    "visits.unknown_observation": "telehealth.unknown_observation",
    "visits.unknown_visit": "sync.unknown_visit",
    "visits.no_care_plan": "care.no_care_plan",
    "visits.missing_field": "sync.missing_field",
    "visits.unknown_kind": "care.unknown_kind",
    "visits.review_closed": "care.review_closed",
    "visits.review.not_a_conflict": "care.review.not_a_conflict",
    "visits.sync.conflict": "sync.conflict",
    "visits.sync.invalid_cursor": "sync.invalid_cursor",
    "visits.voice.unsupported_type": "telehealth.voice.unsupported_type",
    "visits.voice.type_mismatch": "telehealth.voice.type_mismatch",
    "visits.voice.empty": "telehealth.voice.empty",
    "visits.voice.not_uploaded": "telehealth.voice.not_uploaded",
    "visits.reason.clinician_alert": "telehealth.reason.clinician_alert",
    "visits.sync.refused": "sync.refused",
}

_alerts = sa.table("alerts", sa.column("id", sa.Uuid()), sa.column("reasons", sa.JSON()))


def _rewrite(renames: Mapping[str, str], prefixes: tuple[str, ...]) -> None:
    conn = op.get_bind()
    # Only rows whose JSON text names a key of an affected domain are read back.
    text = sa.cast(_alerts.c.reasons, sa.Text)
    rows = conn.execute(
        sa.select(_alerts.c.id, _alerts.c.reasons).where(
            sa.or_(*(text.like(f'%"{prefix}%') for prefix in prefixes))
        )
    ).all()
    for alert_id, reasons in rows:
        changed = False
        rewritten: list[Any] = []
        for reason in reasons or []:
            key = reason.get("key") if isinstance(reason, dict) else None
            if isinstance(key, str) and key in renames:
                reason = {**reason, "key": renames[key]}
                changed = True
            rewritten.append(reason)
        if changed:
            conn.execute(
                sa.update(_alerts).where(_alerts.c.id == alert_id).values(reasons=rewritten)
            )


def _prefixes(keys: Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted({key.split(".", 1)[0] + "." for key in keys}))


def upgrade() -> None:
    _rewrite(RENAMED, _prefixes(list(RENAMED)))


def downgrade() -> None:
    back = {new: old for old, new in RENAMED.items()}
    _rewrite(back, _prefixes(list(back)))
