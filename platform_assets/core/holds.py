"""Holds: a process put on hold (by tracking, or an operator) is skipped by every sensor and
schedule and refused by every asset and op until released. This module keeps them (the
`process_hold` table); systems use the one guard of `core/hold_guards.py` (`skip_when_held` on
sensors and schedules, `refuse_if_held` in bodies); tracking decides when to hold.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Boolean, Column, DateTime, Engine, String, Table, Text, select
from sqlalchemy.dialects import postgresql, sqlite

from platform_assets.core.errors import PlatformError
from platform_assets.core.hold_guards import process_name_for_run
from platform_assets.lib.db import new_metadata

metadata = new_metadata()


class ProcessOnHoldError(PlatformError):
    """Work was asked of a process that is on hold."""

process_hold = Table(
    "process_hold",
    metadata,
    Column("process_name", String(200), primary_key=True),
    # "" = the whole process; else the one partition held (core_0002).
    Column("partition_key", String(200), primary_key=True, default="", server_default=""),
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
    partition_key: str = ""  # "" = the whole process

    def message(self) -> str:
        since = self.held_at.strftime("%Y-%m-%d %H:%M UTC") if self.held_at else "unknown time"
        what = f"process {self.process_name!r}"
        release = f"platform-assets process release {self.process_name}"
        if self.partition_key:
            what += f" [{self.partition_key}]"
            release += f" --partition {self.partition_key}"
        return f"{what} is on hold since {since} ({self.reason}); release it with `{release}`"


def _hold(row: Any) -> Hold:
    return Hold(row.process_name, row.reason or "held", row.held_at, row.held_by, row.partition_key or "")


def hold_of(engine: Engine, process_name: str, partition_key: str | None = None) -> Hold | None:
    """The hold that stops `process_name` (for `partition_key`, when given): a hold of the whole
    process first, else one of that partition; None when it may run."""
    wanted = [""] if not partition_key else ["", partition_key]
    with engine.connect() as connection:
        rows = connection.execute(
            select(process_hold).where(
                process_hold.c.process_name == process_name,
                process_hold.c.partition_key.in_(wanted),
                process_hold.c.on_hold,
            ).order_by(process_hold.c.partition_key)
        ).all()
    return _hold(rows[0]) if rows else None


def held_partitions(engine: Engine, process_name: str) -> dict[str, Hold]:
    """The partitions of `process_name` on hold on their own, by partition key."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(process_hold).where(
                process_hold.c.process_name == process_name, process_hold.c.partition_key != "", process_hold.c.on_hold
            )
        ).all()
    return {row.partition_key: _hold(row) for row in rows}


def _upsert(engine: Engine, values: dict[str, object]) -> None:
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(process_hold).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[process_hold.c.process_name, process_hold.c.partition_key],
        set_={key: value for key, value in values.items() if key not in ("process_name", "partition_key")},
    )
    with engine.begin() as connection:
        connection.execute(statement)


def put_on_hold(engine: Engine, process_name: str, reason: str, by: str = "platform", partition_key: str = "") -> None:
    """Hold the whole process, or only `partition_key` of it."""
    _upsert(
        engine,
        {"process_name": process_name, "partition_key": partition_key, "on_hold": True, "reason": reason,
         "held_at": datetime.now(UTC), "held_by": by, "released_at": None, "released_by": None},
    )


def release_hold(engine: Engine, process_name: str, by: str, partition_key: str = "") -> None:
    _upsert(
        engine,
        {"process_name": process_name, "partition_key": partition_key, "on_hold": False,
         "released_at": datetime.now(UTC), "released_by": by},
    )


def ensure_not_on_hold(engine: Engine, job_name: str, asset_keys: Iterable[str] = ()) -> None:
    """Refuse to start work for a process on hold (a manual launch gets this clear message)."""
    hold = hold_of(engine, process_name_for_run(job_name, asset_keys))
    if hold is not None:
        raise ProcessOnHoldError(hold.message())
