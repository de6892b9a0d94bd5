"""messages down a hub's WebSocket (spoken prompts) and whether the hub has a speaker

Revision ID: 0150
Revises: 0190
Create Date: 2026-11-30 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import server.db

revision: str = "0150"
down_revision: str | None = "0190"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hub_downlinks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("hub_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("acked_at", server.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.ForeignKeyConstraint(["hub_id"], ["devices.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_hub_downlinks_pending", "hub_downlinks", ["hub_id", "acked_at"], unique=False
    )
    op.create_index(op.f("ix_hub_downlinks_alert_id"), "hub_downlinks", ["alert_id"], unique=False)
    with op.batch_alter_table("hub_status") as batch:
        batch.add_column(sa.Column("speaker_ok", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hub_status") as batch:
        batch.drop_column("speaker_ok")
    op.drop_index(op.f("ix_hub_downlinks_alert_id"), table_name="hub_downlinks")
    op.drop_index("ix_hub_downlinks_pending", table_name="hub_downlinks")
    op.drop_table("hub_downlinks")
