"""reports: satisfaction surveys

Revision ID: 0080
Revises: 0070
Create Date: 2026-11-29 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import server.db

revision: str = "0080"
down_revision: str | None = "0070"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "satisfaction_surveys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "context",
            sa.Enum("alert", "visit", name="surveycontext", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("elder_id", sa.Uuid(), nullable=False),
        sa.Column(
            "channel",
            sa.Enum("staff", "link", name="surveychannel", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("overall", sa.Integer(), nullable=False),
        sa.Column("timeliness", sa.Integer(), nullable=True),
        sa.Column("courtesy", sa.Integer(), nullable=True),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("recorded_by", sa.Uuid(), nullable=True),
        sa.Column("answered_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", server.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["elder_id"], ["elders.id"]),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("context", "subject_id", name="uq_satisfaction_surveys_subject"),
    )
    op.create_index("ix_satisfaction_surveys_answered", "satisfaction_surveys", ["answered_at"])
    op.create_index(op.f("ix_satisfaction_surveys_elder_id"), "satisfaction_surveys", ["elder_id"])
    # Monthly reports read a month's slice of a year of readings and visits.
    op.create_index("ix_observations_time_priority", "observations", ["observed_at", "priority"])
    op.create_index("ix_visits_due_by", "visits", ["due_by"])
    op.create_index("ix_visits_ended_at", "visits", ["ended_at"])


def downgrade() -> None:
    op.drop_index("ix_visits_ended_at", table_name="visits")
    op.drop_index("ix_visits_due_by", table_name="visits")
    op.drop_index("ix_observations_time_priority", table_name="observations")
    op.drop_index(op.f("ix_satisfaction_surveys_elder_id"), table_name="satisfaction_surveys")
    op.drop_index("ix_satisfaction_surveys_answered", table_name="satisfaction_surveys")
    op.drop_table("satisfaction_surveys")
