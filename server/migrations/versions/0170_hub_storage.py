"""a hub whose disk is full: the open device alert it raised

Revision ID: 0170
Revises: 0150
Create Date: 2026-11-30 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0170"
down_revision: str | None = "0150"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("hub_status") as batch:
        batch.add_column(sa.Column("storage_alert_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hub_status") as batch:
        batch.drop_column("storage_alert_id")
