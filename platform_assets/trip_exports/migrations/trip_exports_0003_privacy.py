"""trip_exports: trips.cee_application (a CEE application exists for the journey, as the registry
exports it) and api_tokens.expires_at (tokens may carry an expiry date)

Revision ID: trip_exports_0003_privacy
Revises: trip_exports_0002_api_tokens
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "trip_exports_0003_privacy"
down_revision = "trip_exports_0002_api_tokens"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch: SQLite cannot alter tables in place (a no-op wrapper on PostgreSQL).
    with op.batch_alter_table("trips") as batch:
        batch.add_column(sa.Column("cee_application", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires_at")
    with op.batch_alter_table("trips") as batch:
        batch.drop_column("cee_application")
