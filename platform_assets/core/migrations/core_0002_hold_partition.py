"""core: a hold may cover one partition of a process (a contributor, a coverage, an export)

Revision ID: core_0002
Revises: core_0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0002"
down_revision = "core_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # "" = the whole process; batch mode rebuilds the table on SQLite to change its primary key.
    with op.batch_alter_table("process_hold", recreate="auto") as batch:
        batch.add_column(sa.Column("partition_key", sa.String(200), nullable=False, server_default=""))
        batch.drop_constraint("pk_process_hold", type_="primary")
        batch.create_primary_key("pk_process_hold", ["process_name", "partition_key"])


def downgrade() -> None:
    op.execute("DELETE FROM process_hold WHERE partition_key <> ''")
    with op.batch_alter_table("process_hold", recreate="auto") as batch:
        batch.drop_constraint("pk_process_hold", type_="primary")
        batch.drop_column("partition_key")
        batch.create_primary_key("pk_process_hold", ["process_name"])
