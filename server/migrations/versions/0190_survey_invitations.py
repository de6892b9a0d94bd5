"""satisfaction-survey invitations sent by SMS or LINE

Revision ID: 0190
Revises: 0100
Create Date: 2026-11-30 01:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.db

revision: str = "0190"
down_revision: str | None = "0100"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "survey_invitations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "context",
            sa.Enum("alert", "visit", name="surveycontext", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("elder_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["elder_id"], ["elders.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("context", "subject_id", name="uq_survey_invitations_subject"),
    )
    op.create_index(
        "ix_survey_invitations_elder",
        "survey_invitations",
        ["elder_id", "context", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_survey_invitations_elder", table_name="survey_invitations")
    op.drop_table("survey_invitations")
