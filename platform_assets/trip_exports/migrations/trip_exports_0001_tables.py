"""trip_exports: exports, recipients, logs and the trips source table

Revision ID: trip_exports_0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "trip_exports_0001"
down_revision = None
branch_labels = ("trip_exports",)
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Frozen copies of the models' column groups (a migration never imports the models).
GEO_FIELDS = (
    ("lon", sa.Float), ("lat", sa.Float), ("insee", sa.String(5)), ("town", sa.String(100)),
    ("department", sa.String(3)), ("epci", sa.String(9)), ("epci_name", sa.String(120)),
    ("aom", sa.String(9)), ("aom_name", sa.String(120)), ("region", sa.String(2)),
    ("region_name", sa.String(60)), ("country", sa.String(60)),
)
INCENTIVE_FIELDS = (("siret", sa.String(14)), ("name", sa.String(120)), ("amount", sa.Integer), ("campaign_id", sa.Integer))
INCENTIVE_PREFIXES = ("incentive_1", "incentive_2", "incentive_3", "incentive_rpc_1", "incentive_rpc_2", "incentive_rpc_3")


def upgrade() -> None:
    op.create_table(
        "exports",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(320), nullable=False),
        sa.Column("created_by_role", sa.String(40), nullable=False),
        sa.Column("created_by_org", sa.String(64), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("progress", sa.SmallInteger(), nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("download_url", sa.Text(), nullable=True),
        sa.Column("file_key", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("stats", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_exports"),
        sa.UniqueConstraint("uuid", name="uq_exports_uuid"),
    )
    op.create_index("ix_exports_status", "exports", ["status"])
    op.create_table(
        "recipients",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("export_id", BigId, nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("fullname", sa.String(200), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("scrambled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_recipients"),
        sa.ForeignKeyConstraint(
            ["export_id"], ["exports.id"], name="fk_recipients_export_id_exports", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_recipients_export_id", "recipients", ["export_id"])
    op.create_table(
        "logs",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("export_id", BigId, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_logs"),
        sa.ForeignKeyConstraint(["export_id"], ["exports.id"], name="fk_logs_export_id_exports", ondelete="CASCADE"),
    )
    op.create_index("ix_logs_export_id", "logs", ["export_id"])

    trip_columns = [
        sa.Column("journey_id", BigId, autoincrement=False, nullable=False),
        sa.Column("trip_id", sa.String(36), nullable=False),
        sa.Column("operator_journey_id", sa.String(64), nullable=False),
        sa.Column("operator_trip_id", sa.String(64), nullable=True),
        sa.Column("operator_class", sa.String(1), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("operator_name", sa.String(120), nullable=False),
        sa.Column("start_datetime", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_datetime", sa.DateTime(timezone=True), nullable=False),
    ]
    for side in ("start", "end"):
        trip_columns += [sa.Column(f"{side}_{name}", type_, nullable=True) for name, type_ in GEO_FIELDS]
    trip_columns += [
        sa.Column("distance", sa.Integer(), nullable=True),
        sa.Column("duration", sa.Integer(), nullable=True),
        sa.Column("passenger_id", sa.String(36), nullable=True),
        sa.Column("driver_id", sa.String(36), nullable=True),
        sa.Column("passenger_seats", sa.SmallInteger(), nullable=False),
        sa.Column("passenger_contribution", sa.Integer(), nullable=True),
        sa.Column("driver_revenue", sa.Integer(), nullable=True),
    ]
    for prefix in INCENTIVE_PREFIXES:
        trip_columns += [sa.Column(f"{prefix}_{name}", type_, nullable=True) for name, type_ in INCENTIVE_FIELDS]
    trip_columns += [
        sa.Column("acquisition_status", sa.String(20), nullable=False),
        sa.Column("fraud_status", sa.String(20), nullable=False),
        sa.Column("anomaly_status", sa.String(20), nullable=False),
    ]
    op.create_table("trips", *trip_columns, sa.PrimaryKeyConstraint("journey_id", name="pk_trips"))
    op.create_index("ix_trips_start_datetime", "trips", ["start_datetime"])
    op.create_index("ix_trips_operator_id_start_datetime", "trips", ["operator_id", "start_datetime"])


def downgrade() -> None:
    op.drop_table("trips")
    op.drop_table("logs")
    op.drop_table("recipients")
    op.drop_table("exports")
