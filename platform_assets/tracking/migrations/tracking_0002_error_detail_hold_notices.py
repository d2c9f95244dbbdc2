"""tracking: error.detail (the cause chain), hold events' partition and mail delivery time,
processes' expected frequency and lateness notice

Revision ID: tracking_0002
Revises: tracking_0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "tracking_0002"
down_revision = "tracking_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch_alter_table: SQLite cannot ALTER most things in place; Alembic copies the table there.
    with op.batch_alter_table("error") as batch:
        batch.add_column(sa.Column("detail", sa.Text(), nullable=True))
    with op.batch_alter_table("process_hold_event") as batch:
        batch.add_column(sa.Column("partition", sa.String(300), nullable=True))
        batch.add_column(sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("process") as batch:
        batch.add_column(sa.Column("expected_every_seconds", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("late_notified_at", sa.DateTime(timezone=True), nullable=True))
    # Hold events written before notices existed are not mailed now, months late.
    op.execute("UPDATE process_hold_event SET notified_at = at")


def downgrade() -> None:
    with op.batch_alter_table("process") as batch:
        batch.drop_column("late_notified_at")
        batch.drop_column("expected_every_seconds")
    with op.batch_alter_table("process_hold_event") as batch:
        batch.drop_column("notified_at")
        batch.drop_column("partition")
    with op.batch_alter_table("error") as batch:
        batch.drop_column("detail")
