"""eligibility rounds: who signs the public notice

Revision ID: 0090
Revises: 0080
Create Date: 2026-11-29 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0090"
down_revision: str | None = "0080"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("eligibility_rounds") as batch:
        batch.add_column(
            sa.Column("signer_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        batch.add_column(
            sa.Column(
                "signer_position", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("eligibility_rounds") as batch:
        batch.drop_column("signer_position")
        batch.drop_column("signer_name")
