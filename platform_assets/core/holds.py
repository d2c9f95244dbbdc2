"""The hold check: a process put on hold (by tracking, or an operator) is skipped by every sensor
and schedule until released. Systems ask `hold_of()`; tracking decides when to hold.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Boolean, Column, DateTime, Engine, String, Table, Text, select
from sqlalchemy.dialects import postgresql, sqlite

from platform_assets.core.errors import PlatformError
from platform_assets.lib.db import new_metadata

metadata = new_metadata()


class ProcessOnHoldError(PlatformError):
    """Work was asked of a process that is on hold."""

process_hold = Table(
    "process_hold",
    metadata,
    Column("process_name", String(200), primary_key=True),
    Column("on_hold", Boolean, nullable=False, default=False),
    Column("reason", Text),
    Column("held_at", DateTime(timezone=True)),
    Column("held_by", String(200)),
    Column("released_at", DateTime(timezone=True)),
    Column("released_by", String(200)),
)


@dataclass(frozen=True)
class Hold:
    process_name: str
    reason: str
    held_at: datetime | None
    held_by: str | None

    def message(self) -> str:
        since = self.held_at.strftime("%Y-%m-%d %H:%M UTC") if self.held_at else "unknown time"
        return (
            f"process {self.process_name!r} is on hold since {since} ({self.reason}); "
            f"release it with `platform-assets process release {self.process_name}`"
        )


def hold_of(engine: Engine, process_name: str) -> Hold | None:
    """The active hold of `process_name`, or None when it may run."""
    with engine.connect() as connection:
        row = connection.execute(
            select(process_hold).where(process_hold.c.process_name == process_name, process_hold.c.on_hold)
        ).first()
    if row is None:
        return None
    return Hold(row.process_name, row.reason or "held", row.held_at, row.held_by)


def _upsert(engine: Engine, values: dict[str, object]) -> None:
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(process_hold).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[process_hold.c.process_name],
        set_={key: value for key, value in values.items() if key != "process_name"},
    )
    with engine.begin() as connection:
        connection.execute(statement)


def put_on_hold(engine: Engine, process_name: str, reason: str, by: str = "platform") -> None:
    _upsert(
        engine,
        {"process_name": process_name, "on_hold": True, "reason": reason, "held_at": datetime.now(UTC),
         "held_by": by, "released_at": None, "released_by": None},
    )


def release_hold(engine: Engine, process_name: str, by: str) -> None:
    _upsert(
        engine,
        {"process_name": process_name, "on_hold": False, "released_at": datetime.now(UTC), "released_by": by},
    )


ASSET_JOB_PREFIX = "__ASSET_JOB"
# Dagster's hidden jobs (`__ASSET_JOB...` for UI launches, `__ephemeral_asset_job__` for
# `materialize()`) are not processes of their own: their assets name the process.
HIDDEN_JOB_PREFIX = "__"


def process_name_for_run(job_name: str, asset_keys: Iterable[str] = ()) -> str:
    """The process a run belongs to: its job name, or for ad-hoc asset runs its sorted asset keys."""
    if job_name.startswith(HIDDEN_JOB_PREFIX):
        keys = sorted(asset_keys)
        return ",".join(keys) if keys else job_name
    return job_name


def ensure_not_on_hold(engine: Engine, job_name: str, asset_keys: Iterable[str] = ()) -> None:
    """Refuse to start work for a process on hold (a manual launch gets this clear message)."""
    hold = hold_of(engine, process_name_for_run(job_name, asset_keys))
    if hold is not None:
        raise ProcessOnHoldError(hold.message())
