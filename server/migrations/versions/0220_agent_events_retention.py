"""agent_events: an index on received_at for retention (BRIN on PostgreSQL)

Revision ID: 0220
Revises: 0210
Create Date: 2026-11-30 19:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0220"
down_revision: str | None = "0210"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_agent_events_received", "agent_events", ["received_at"], postgresql_using="brin"
    )


def downgrade() -> None:
    op.drop_index("ix_agent_events_received", table_name="agent_events")
