"""The `dataset_state` history: one row per change of a dataset's state, with the time it was seen.

The current state of an accession is its latest row; an accession no longer found in any source
gets the state `removed`. Recording is idempotent: a crawl that sees no change writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    String,
    Table,
    Text,
    func,
    insert,
    select,
    text,
)

from platform_assets.lib.db import new_metadata

metadata = new_metadata()

REMOVED = "removed"

dataset_state = Table(
    "dataset_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("accession", String(64), nullable=False),
    Column("state", String(32), nullable=False),
    Column("previous_state", String(32), nullable=True),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("sources", Text, nullable=True),
    Index("ix_dataset_state_accession_id", "accession", "id"),
)


@dataclass(frozen=True)
class CurrentState:
    accession: str
    state: str
    since: datetime
    previous_state: str | None


@dataclass(frozen=True)
class StateChange:
    accession: str
    state: str
    previous_state: str | None
    changed_at: datetime


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every time stored here is UTC.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def current_states(engine: Engine) -> dict[str, CurrentState]:
    """The latest row of every accession ever recorded (one query)."""
    latest = select(func.max(dataset_state.c.id).label("id")).group_by(dataset_state.c.accession).subquery()
    query = select(
        dataset_state.c.accession,
        dataset_state.c.state,
        dataset_state.c.changed_at,
        dataset_state.c.previous_state,
    ).join(latest, latest.c.id == dataset_state.c.id)
    with engine.connect() as connection:
        return {
            row.accession: CurrentState(row.accession, row.state, _utc(row.changed_at), row.previous_state)
            for row in connection.execute(query)
        }


def record_states(
    engine: Engine,
    states: Mapping[str, str],
    sources: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> list[StateChange]:
    """Write a row for every accession whose state differs from its latest one (and `removed` for
    accessions no longer seen); return the changes. Runs in one transaction."""
    now = _utc(now or datetime.now(UTC))
    sources = sources or {}
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # Two crawls recording at once would both see the same "latest" rows: serialise them.
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('dataset_state'))"))
        latest = select(func.max(dataset_state.c.id).label("id")).group_by(dataset_state.c.accession).subquery()
        previous = {
            row.accession: row.state
            for row in connection.execute(
                select(dataset_state.c.accession, dataset_state.c.state).join(
                    latest, latest.c.id == dataset_state.c.id
                )
            )
        }
        changes = [
            StateChange(accession, state, previous.get(accession), now)
            for accession, state in sorted(states.items())
            if previous.get(accession) != state
        ]
        changes += [
            StateChange(accession, REMOVED, state, now)
            for accession, state in sorted(previous.items())
            if accession not in states and state != REMOVED
        ]
        if changes:
            connection.execute(
                insert(dataset_state),
                [
                    {
                        "accession": change.accession,
                        "state": change.state,
                        "previous_state": change.previous_state,
                        "changed_at": change.changed_at,
                        "sources": sources.get(change.accession),
                    }
                    for change in changes
                ],
            )
    return changes


def history_of(engine: Engine, accession: str) -> list[StateChange]:
    """Every recorded state of one accession, oldest first."""
    query = (
        select(dataset_state.c.state, dataset_state.c.previous_state, dataset_state.c.changed_at)
        .where(dataset_state.c.accession == accession)
        .order_by(dataset_state.c.id)
    )
    with engine.connect() as connection:
        return [
            StateChange(accession, row.state, row.previous_state, _utc(row.changed_at))
            for row in connection.execute(query)
        ]
