"""tracking: process, system, process_run, extract (+ history, readers), error, hold events

Revision ID: tracking_0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "tracking_0001"
down_revision = None
branch_labels = ("tracking",)
# The hold itself lives in core's process_hold table, which tracking writes.
depends_on = "core_0001"


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "system",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_system"),
        sa.UniqueConstraint("name", name="uq_system_name"),
    )
    op.create_table(
        "process",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("tool", sa.String(100), nullable=False),
        sa.Column("actor", sa.String(200), nullable=True),
        sa.Column("max_concurrent_failures", sa.Integer(), nullable=False),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        _when("last_completed_at"),
        _when("last_failed_at"),
        _when("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_process"),
        sa.UniqueConstraint("name", name="uq_process_name"),
    )
    for link in ("process_source", "process_target"):
        op.create_table(
            link,
            sa.Column("process_id", sa.Integer(), nullable=False),
            sa.Column("system_id", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(
                ["process_id"], ["process.id"], name=f"fk_{link}_process_id_process", ondelete="CASCADE"
            ),
            sa.ForeignKeyConstraint(
                ["system_id"], ["system.id"], name=f"fk_{link}_system_id_system", ondelete="CASCADE"
            ),
            sa.PrimaryKeyConstraint("process_id", "system_id", name=f"pk_{link}"),
        )
    op.create_table(
        "process_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("run_number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(200), nullable=True),
        _when("started_at", nullable=False),
        _when("ended_at"),
        _when("low_data_date"),
        _when("high_data_date"),
        sa.Column("records_read", sa.BigInteger(), nullable=True),
        sa.Column("records_written", sa.BigInteger(), nullable=True),
        sa.Column("dagster_run_id", sa.String(64), nullable=True),
        sa.Column("partition", sa.String(300), nullable=True),
        sa.ForeignKeyConstraint(
            ["process_id"], ["process.id"], name="fk_process_run_process_id_process", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_process_run"),
        sa.UniqueConstraint("process_id", "run_number", name="uq_process_run_process_id_run_number"),
        sa.UniqueConstraint("dagster_run_id", name="uq_process_run_dagster_run_id"),
    )
    op.create_index("ix_process_run_process_id", "process_run", ["process_id"])
    op.create_table(
        "extract",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(300), nullable=False),
        sa.Column("location", sa.String(1000), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("checksum", sa.String(128), nullable=True),
        sa.Column("written_by_run_id", sa.Integer(), nullable=True),
        _when("created_at", nullable=False),
        _when("updated_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["written_by_run_id"], ["process_run.id"], name="fk_extract_written_by_run_id_process_run",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_extract"),
        sa.UniqueConstraint("filename", "location", name="uq_extract_filename_location"),
    )
    op.create_index("ix_extract_location", "extract", ["location"])
    op.create_table(
        "extract_reader",
        sa.Column("extract_id", sa.Integer(), nullable=False),
        sa.Column("process_run_id", sa.Integer(), nullable=False),
        _when("read_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["extract_id"], ["extract.id"], name="fk_extract_reader_extract_id_extract", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["process_run_id"], ["process_run.id"], name="fk_extract_reader_process_run_id_process_run",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("extract_id", "process_run_id", name="pk_extract_reader"),
    )
    op.create_table(
        "extract_status_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("extract_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        _when("changed_at", nullable=False),
        sa.Column("process_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["extract_id"], ["extract.id"], name="fk_extract_status_history_extract_id_extract",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["process_run_id"], ["process_run.id"],
            name="fk_extract_status_history_process_run_id_process_run", ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_extract_status_history"),
    )
    op.create_index("ix_extract_status_history_extract_id", "extract_status_history", ["extract_id"])
    op.create_table(
        "error",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_run_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("exception", sa.String(200), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("fatal", sa.Boolean(), nullable=False),
        sa.Column("step", sa.String(300), nullable=True),
        _when("occurred_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["process_run_id"], ["process_run.id"], name="fk_error_process_run_id_process_run",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_error"),
    )
    op.create_index("ix_error_process_run_id", "error", ["process_run_id"])
    op.create_table(
        "process_hold_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_name", sa.String(300), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        _when("at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_process_hold_event"),
    )
    op.create_index("ix_process_hold_event_process_name", "process_hold_event", ["process_name"])


def downgrade() -> None:
    for table in (
        "process_hold_event", "error", "extract_status_history", "extract_reader", "extract",
        "process_run", "process_target", "process_source", "process", "system",
    ):
        op.drop_table(table)
