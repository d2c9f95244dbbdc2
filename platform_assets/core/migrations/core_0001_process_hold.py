"""core: process_hold table (the hold check every system's sensors ask)

Revision ID: core_0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0001"
down_revision = None
branch_labels = ("core",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "process_hold",
        sa.Column("process_name", sa.String(200), nullable=False),
        sa.Column("on_hold", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("held_by", sa.String(200), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("process_name", name="pk_process_hold"),
    )


def downgrade() -> None:
    op.drop_table("process_hold")
