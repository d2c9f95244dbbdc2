"""quality: check runs, check results and sampled examples

Revision ID: quality_0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "quality_0001"
down_revision = None
branch_labels = ("quality",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quality_check_run",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("asset_key", sa.String(300), nullable=False),
        sa.Column("partition_key", sa.String(200), nullable=False),
        sa.Column("data_version", sa.String(100), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("failed_checks", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_quality_check_run"),
        sa.UniqueConstraint(
            "asset_key", "partition_key", "data_version",
            name="uq_quality_check_run_asset_key_partition_key_data_version",
        ),
    )
    op.create_table(
        "quality_check_result",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("check_run_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("passed", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("not_applicable", sa.Integer(), nullable=False),
        sa.Column("share", sa.Float(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("meta", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["check_run_id"], ["quality_check_run.id"],
            name="fk_quality_check_result_check_run_id_quality_check_run", ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_quality_check_result"),
        sa.UniqueConstraint("check_run_id", "name", name="uq_quality_check_result_check_run_id_name"),
    )
    op.create_table(
        "quality_check_example",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("check_result_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("example", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["check_result_id"], ["quality_check_result.id"],
            name="fk_quality_check_example_check_result_id_quality_check_result", ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_quality_check_example"),
        sa.UniqueConstraint(
            "check_result_id", "outcome", "position",
            name="uq_quality_check_example_check_result_id_outcome_position",
        ),
    )


def downgrade() -> None:
    op.drop_table("quality_check_example")
    op.drop_table("quality_check_result")
    op.drop_table("quality_check_run")
