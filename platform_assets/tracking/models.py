"""Tables of process tracking (SQLAlchemy 2 ORM; migrations in `tracking/migrations/`).

A *process* reads from source systems and writes to target systems; each execution is a
*process run* numbered per process. Files handed from one process to another are *extracts*
(unique by filename and location) with a status history, the run that wrote them and the runs
that read them. Errors belong to runs.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from platform_assets.lib.db import new_metadata

PROCESS_TYPES = ("extract", "load", "transform", "export", "publish", "check", "report", "other")
# `on hold`: refused because the process is on hold; `refused`: refused because another run of the
# process is running; `canceled`: terminated (often while still queued); `skipped`: ended without
# doing its work. Only `failed` counts toward a hold (Dagster's and Airflow's run states keep these
# apart too); only `completed` resets the count.
RUN_STATUSES = ("running", "completed", "failed", "on hold", "refused", "canceled", "skipped")
NOT_COUNTED_STATUSES = ("on hold", "refused", "canceled", "skipped")
EXTRACT_STATUSES = ("initialized", "ready", "loading", "loaded", "archived", "deleted", "error")
ERROR_TYPES = ("file", "data", "process", "system")
DEFAULT_MAX_CONCURRENT_FAILURES = 5


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = new_metadata()


process_source = Table(
    "process_source",
    Base.metadata,
    Column("process_id", ForeignKey("process.id", ondelete="CASCADE"), primary_key=True),
    Column("system_id", ForeignKey("system.id", ondelete="CASCADE"), primary_key=True),
)

process_target = Table(
    "process_target",
    Base.metadata,
    Column("process_id", ForeignKey("process.id", ondelete="CASCADE"), primary_key=True),
    Column("system_id", ForeignKey("system.id", ondelete="CASCADE"), primary_key=True),
)

extract_reader = Table(
    "extract_reader",
    Base.metadata,
    Column("extract_id", ForeignKey("extract.id", ondelete="CASCADE"), primary_key=True),
    Column("process_run_id", ForeignKey("process_run.id", ondelete="CASCADE"), primary_key=True),
    Column("read_at", DateTime(timezone=True), nullable=False, default=utcnow),
)


class System(Base):
    """Something a process reads from or writes to (an asset, a database, an endpoint...)."""

    __tablename__ = "system"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str | None] = mapped_column(String(200))


class Process(Base):
    __tablename__ = "process"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    type: Mapped[str] = mapped_column(String(40), default="other")
    tool: Mapped[str] = mapped_column(String(100), default="python")
    actor: Mapped[str | None] = mapped_column(String(200))
    max_concurrent_failures: Mapped[int] = mapped_column(Integer, default=DEFAULT_MAX_CONCURRENT_FAILURES)
    # Failed runs since the last completed run or release: the on-hold rule compares it to the max.
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # ProcessTracker's schedule frequency: a run is expected at least this often (None: no expectation).
    expected_every_seconds: Mapped[int | None] = mapped_column(Integer)
    # When operators were told the process is late (cleared by its next run): one notice per lateness.
    late_notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    sources: Mapped[list[System]] = relationship(secondary=process_source, order_by=System.name)
    targets: Mapped[list[System]] = relationship(secondary=process_target, order_by=System.name)


class ProcessRun(Base):
    __tablename__ = "process_run"
    __table_args__ = (UniqueConstraint("process_id", "run_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[int] = mapped_column(ForeignKey("process.id", ondelete="CASCADE"), index=True)
    run_number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="running")
    actor: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    low_data_date: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    high_data_date: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    records_read: Mapped[int | None] = mapped_column(BigInteger)
    records_written: Mapped[int | None] = mapped_column(BigInteger)
    dagster_run_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    partition: Mapped[str | None] = mapped_column(String(300))

    process: Mapped[Process] = relationship()


class Extract(Base):
    __tablename__ = "extract"
    __table_args__ = (UniqueConstraint("filename", "location"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    filename: Mapped[str] = mapped_column(String(300))
    location: Mapped[str] = mapped_column(String(1000), index=True)
    status: Mapped[str] = mapped_column(String(20), default="initialized")
    size: Mapped[int | None] = mapped_column(BigInteger)
    checksum: Mapped[str | None] = mapped_column(String(128))
    written_by_run_id: Mapped[int | None] = mapped_column(ForeignKey("process_run.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    written_by: Mapped[ProcessRun | None] = relationship()
    read_by: Mapped[list[ProcessRun]] = relationship(secondary=extract_reader, order_by=ProcessRun.id)
    history: Mapped[list[ExtractStatusChange]] = relationship(
        back_populates="extract", order_by="ExtractStatusChange.id", cascade="all, delete-orphan"
    )

    @property
    def uri(self) -> str:
        return self.location + self.filename


class ExtractStatusChange(Base):
    __tablename__ = "extract_status_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    extract_id: Mapped[int] = mapped_column(ForeignKey("extract.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    process_run_id: Mapped[int | None] = mapped_column(ForeignKey("process_run.id", ondelete="SET NULL"))

    extract: Mapped[Extract] = relationship(back_populates="history")


class RunError(Base):
    __tablename__ = "error"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_run_id: Mapped[int] = mapped_column(ForeignKey("process_run.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(20))
    exception: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    fatal: Mapped[bool] = mapped_column(Boolean, default=False)
    step: Mapped[str | None] = mapped_column(String(300))
    # The whole cause chain (wrappers included) and the root cause's stack; `message` is the root cause.
    detail: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    run: Mapped[ProcessRun] = relationship()


class HoldEvent(Base):
    """Who put a process on hold or released it, and when (process_hold keeps only the latest)."""

    __tablename__ = "process_hold_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_name: Mapped[str] = mapped_column(String(300), index=True)
    action: Mapped[str] = mapped_column(String(20))  # held | released
    by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    partition: Mapped[str | None] = mapped_column(String(300))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # When the operators were mailed about it (None: still to mail; the notice sensor retries).
    notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
