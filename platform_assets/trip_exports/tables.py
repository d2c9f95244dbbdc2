"""SQLAlchemy 2 models of the trip-export service (`exports`, `recipients`, `logs`) and the `trips`
source table (the registry's carpool journeys, one row per passenger journey).

The service reads and writes exports through the ORM; trips are only ever read with Core
(`trips_table`), because streaming a million rows through ORM objects is ~3x slower.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import formataddr
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from platform_assets.lib.db import new_metadata

STATUSES = ("pending", "processing", "uploading", "sending", "success", "error", "expired", "cancelled")
EXPORT_TYPES = ("regular", "opendata", "operator", "territory", "registry")

# SQLite only auto-increments INTEGER PRIMARY KEY columns, PostgreSQL gets a real BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = new_metadata()


metadata = Base.metadata


class Export(Base):
    __tablename__ = "exports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, nullable=False
    )
    created_by: Mapped[str] = mapped_column(String(320), nullable=False)
    # The creator's role and organisation decide who else may see the export (admins of the org).
    created_by_role: Mapped[str] = mapped_column(String(40), nullable=False)
    created_by_org: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="pending", index=True)
    progress: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=0)
    type: Mapped[str] = mapped_column(String(20), nullable=False)
    download_url: Mapped[str | None] = mapped_column(Text)
    file_key: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    stats: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    recipients: Mapped[list[Recipient]] = relationship(
        back_populates="export", cascade="all, delete-orphan", order_by="Recipient.id"
    )
    logs: Mapped[list[Log]] = relationship(back_populates="export", cascade="all, delete-orphan", order_by="Log.id")


class Recipient(Base):
    __tablename__ = "recipients"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    export_id: Mapped[int] = mapped_column(ForeignKey("exports.id", ondelete="CASCADE"), nullable=False, index=True)
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    fullname: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str | None] = mapped_column(Text)
    scrambled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    export: Mapped[Export] = relationship(back_populates="recipients")

    @property
    def address(self) -> str:
        # formataddr quotes names holding commas or other specials, so "Lopez, Ana" stays one address.
        return formataddr((self.fullname or "", self.email))


class Log(Base):
    __tablename__ = "logs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    export_id: Mapped[int] = mapped_column(ForeignKey("exports.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    type: Mapped[str] = mapped_column(String(40), nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False)

    export: Mapped[Export] = relationship(back_populates="logs")


# -- trips (source table) --------------------------------------------------------------------------
GEO_FIELDS = (
    ("lon", Float),
    ("lat", Float),
    ("insee", String(5)),
    ("town", String(100)),
    ("department", String(3)),
    ("epci", String(9)),
    ("epci_name", String(120)),
    ("aom", String(9)),
    ("aom_name", String(120)),
    ("region", String(2)),
    ("region_name", String(60)),
    ("country", String(60)),
)
INCENTIVE_FIELDS = (("siret", String(14)), ("name", String(120)), ("amount", Integer), ("campaign_id", Integer))
INCENTIVE_PREFIXES = ("incentive_1", "incentive_2", "incentive_3", "incentive_rpc_1", "incentive_rpc_2", "incentive_rpc_3")


def _trip_columns() -> dict[str, Any]:
    columns: dict[str, Any] = {
        "__tablename__": "trips",
        "journey_id": mapped_column(BigId, primary_key=True, autoincrement=False),
        "trip_id": mapped_column(String(36), nullable=False),
        "operator_journey_id": mapped_column(String(64), nullable=False),
        "operator_trip_id": mapped_column(String(64)),
        "operator_class": mapped_column(String(1), nullable=False),
        "operator_id": mapped_column(Integer, nullable=False),
        "operator_name": mapped_column(String(120), nullable=False),
        "start_datetime": mapped_column(DateTime(timezone=True), nullable=False),
        "end_datetime": mapped_column(DateTime(timezone=True), nullable=False),
    }
    for side in ("start", "end"):
        for name, type_ in GEO_FIELDS:
            columns[f"{side}_{name}"] = mapped_column(type_)
    columns.update(
        {
            "distance": mapped_column(Integer),  # metres
            "duration": mapped_column(Integer),  # seconds
            "passenger_id": mapped_column(String(36)),
            "driver_id": mapped_column(String(36)),
            "passenger_seats": mapped_column(SmallInteger, nullable=False, default=1),
            "passenger_contribution": mapped_column(Integer),  # cents
            "driver_revenue": mapped_column(Integer),  # cents
        }
    )
    for prefix in INCENTIVE_PREFIXES:
        for name, type_ in INCENTIVE_FIELDS:
            columns[f"{prefix}_{name}"] = mapped_column(type_)
    columns.update(
        {
            "acquisition_status": mapped_column(String(20), nullable=False),
            "fraud_status": mapped_column(String(20), nullable=False),
            "anomaly_status": mapped_column(String(20), nullable=False),
            # A CEE (energy savings certificate) application exists for the journey; the
            # registry exports it as `cee_application` (carpoolListQuery.ts).
            "cee_application": mapped_column(Boolean, nullable=False, default=False, server_default=false()),
        }
    )
    columns["__table_args__"] = (
        Index("ix_trips_start_datetime", "start_datetime"),
        Index("ix_trips_operator_id_start_datetime", "operator_id", "start_datetime"),
    )
    return columns


Trip = type("Trip", (Base,), _trip_columns())
trips_table = Base.metadata.tables["trips"]
TRIP_COLUMN_NAMES: tuple[str, ...] = tuple(column.name for column in trips_table.columns)


# -- API tokens ------------------------------------------------------------------------------------
class ApiToken(Base):
    """A bearer token of the HTTP API: only its sha256 is kept, never the token itself."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    user: Mapped[str] = mapped_column(String(320), nullable=False)
    role: Mapped[str] = mapped_column(String(40), nullable=False)
    org: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(320), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # None: valid until revoked.
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
