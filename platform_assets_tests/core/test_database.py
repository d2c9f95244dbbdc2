from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from platform_assets.core.database import PlatformDatabase, upgrade_database, version_locations
from platform_assets.core.errors import DatabaseError
from platform_assets.core.holds import (
    ProcessOnHoldError,
    ensure_not_on_hold,
    hold_of,
    put_on_hold,
    release_hold,
)
from platform_assets_tests import servers


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/platform.db"
    else:
        with servers.postgres_database() as url:
            yield url


def test_upgrade_from_empty_creates_every_branch(database_url: str) -> None:
    database = PlatformDatabase(url=database_url)
    database.upgrade()
    database.upgrade()  # idempotent
    tables = set(inspect(database.engine).get_table_names())
    assert {"alembic_version", "process_hold"} <= tables
    with database.engine.connect() as connection:
        heads = {row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))}
    # every system branch is at its head (a branch that depends on core's may absorb core's head)
    from alembic.script import ScriptDirectory

    from platform_assets.core.database import alembic_config

    script = ScriptDirectory.from_config(alembic_config(database_url))
    applied = {rev.revision for head in heads for rev in script.iterate_revisions(head, "base")}
    assert set(script.get_heads()) <= applied
    assert len(version_locations()) >= 1


def test_holds_round_trip(database_url: str) -> None:
    database = PlatformDatabase(url=database_url)
    database.upgrade()
    engine = database.engine
    assert hold_of(engine, "contributor_export_job") is None
    put_on_hold(engine, "contributor_export_job", "5 failed runs in a row")
    hold = hold_of(engine, "contributor_export_job")
    assert hold is not None and hold.reason == "5 failed runs in a row"
    with pytest.raises(ProcessOnHoldError, match="process release contributor_export_job"):
        ensure_not_on_hold(engine, "contributor_export_job")
    release_hold(engine, "contributor_export_job", by="alice")
    assert hold_of(engine, "contributor_export_job") is None
    ensure_not_on_hold(engine, "contributor_export_job")


def test_session_rolls_back_on_error(tmp_path: Path) -> None:
    database = PlatformDatabase(url=f"sqlite:///{tmp_path}/p.db")
    database.upgrade()
    with pytest.raises(RuntimeError):
        with database.session() as session:
            session.execute(text("INSERT INTO process_hold (process_name, on_hold) VALUES ('x', true)"))
            raise RuntimeError("boom")
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM process_hold")).scalar_one() == 0


def test_unreachable_database_is_one_clear_line() -> None:
    url = f"postgresql+psycopg2://postgres:pw@127.0.0.1:{servers.free_port()}/nowhere"
    with pytest.raises(DatabaseError) as raised:
        upgrade_database(url)
    message = str(raised.value)
    assert message.startswith("PLATFORM_DATABASE_URL=postgresql+psycopg2://postgres:***@127.0.0.1")
    assert "pw@" not in message and "\n" not in message
