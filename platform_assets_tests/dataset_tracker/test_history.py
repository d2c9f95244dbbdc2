"""The dataset_state history on SQLite and PostgreSQL (tables made by the Alembic branch)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, inspect, select

from platform_assets.core.database import dispose_engine, get_engine, upgrade_database
from platform_assets.dataset_tracker.history import (
    REMOVED,
    current_states,
    dataset_state,
    history_of,
    record_states,
)

T0 = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'platform.db'}"
        upgrade_database(url)
        yield get_engine(url)
        dispose_engine(url)
    else:
        from platform_assets_tests.servers import postgres_database

        with postgres_database("pa_tracker") as url:
            upgrade_database(url)
            yield get_engine(url)


def test_migration_creates_the_table(engine: Engine) -> None:
    columns = {column["name"] for column in inspect(engine).get_columns("dataset_state")}
    assert columns == {"id", "accession", "state", "previous_state", "changed_at", "sources"}


def test_every_change_is_recorded_once_with_its_time(engine: Engine) -> None:
    first = record_states(engine, {"E-MTAB-1": "incoming", "E-MTAB-2": "external"}, {"E-MTAB-1": "inbox"}, now=T0)
    assert [(c.accession, c.state, c.previous_state) for c in first] == [
        ("E-MTAB-1", "incoming", None), ("E-MTAB-2", "external", None),
    ]
    # The same states again: nothing written (idempotent crawls).
    assert record_states(engine, {"E-MTAB-1": "incoming", "E-MTAB-2": "external"}, now=T0 + timedelta(hours=6)) == []

    later = T0 + timedelta(hours=12)
    changes = record_states(engine, {"E-MTAB-1": "loading", "E-MTAB-3": "incoming"}, now=later)
    assert [(c.accession, c.state, c.previous_state) for c in changes] == [
        ("E-MTAB-1", "loading", "incoming"), ("E-MTAB-3", "incoming", None), ("E-MTAB-2", REMOVED, "external"),
    ]
    states = current_states(engine)
    assert states["E-MTAB-1"].state == "loading"
    assert states["E-MTAB-1"].since == later
    assert states["E-MTAB-1"].previous_state == "incoming"
    assert states["E-MTAB-2"].state == REMOVED
    # A removed dataset is not removed again; one that comes back is a change.
    assert record_states(engine, {"E-MTAB-1": "loading", "E-MTAB-3": "incoming"}, now=later) == []
    back = record_states(engine, {"E-MTAB-1": "loading", "E-MTAB-2": "incoming", "E-MTAB-3": "incoming"},
                         now=later + timedelta(days=1))
    assert [(c.accession, c.state, c.previous_state) for c in back] == [("E-MTAB-2", "incoming", REMOVED)]

    history = history_of(engine, "E-MTAB-1")
    assert [(c.state, c.changed_at) for c in history] == [("incoming", T0), ("loading", later)]
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(dataset_state)).scalar_one() == 6
        assert connection.execute(
            select(dataset_state.c.sources).where(dataset_state.c.accession == "E-MTAB-1").order_by(dataset_state.c.id)
        ).scalars().first() == "inbox"


def test_thousands_of_accessions_in_one_transaction(engine: Engine) -> None:
    states = {f"E-MTAB-{n}": "incoming" for n in range(3000)}
    assert len(record_states(engine, states, now=T0)) == 3000
    states.update({f"E-MTAB-{n}": "loading" for n in range(0, 3000, 3)})
    assert len(record_states(engine, states, now=T0 + timedelta(hours=1))) == 1000
    assert len(current_states(engine)) == 3000
