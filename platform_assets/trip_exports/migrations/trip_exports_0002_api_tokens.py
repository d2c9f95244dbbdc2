"""trip_exports: api_tokens (bearer tokens of the HTTP API, stored as sha256)

Revision ID: trip_exports_0002_api_tokens
Revises: trip_exports_0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "trip_exports_0002_api_tokens"
down_revision = "trip_exports_0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("user", sa.String(320), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("org", sa.String(64)),
        sa.Column("created_by", sa.String(320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_table("api_tokens")
