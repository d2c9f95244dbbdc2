"""dataset_tracker: dataset_state history table (every change of a dataset's state, with its time)

Revision ID: dataset_tracker_0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "dataset_tracker_0001"
down_revision = None
branch_labels = ("dataset_tracker",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dataset_state",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("accession", sa.String(64), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("previous_state", sa.String(32), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sources", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_dataset_state"),
    )
    op.create_index("ix_dataset_state_accession_id", "dataset_state", ["accession", "id"])


def downgrade() -> None:
    op.drop_index("ix_dataset_state_accession_id", table_name="dataset_state")
    op.drop_table("dataset_state")
