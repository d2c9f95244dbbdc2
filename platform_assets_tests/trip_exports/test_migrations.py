"""The Alembic branch `trip_exports` goes up and down on its own, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect

from platform_assets.core.database import alembic_config
from platform_assets.trip_exports.tables import metadata

TABLES = {"exports", "recipients", "logs", "trips", "api_tokens"}


def test_branch_matches_the_models_and_downgrades(engine: Engine) -> None:
    inspector = inspect(engine)
    assert TABLES <= set(inspector.get_table_names())
    for name in TABLES:
        assert {column["name"] for column in inspector.get_columns(name)} == set(metadata.tables[name].columns.keys())
    url = engine.url.render_as_string(hide_password=False)
    with engine.begin() as connection:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.downgrade(config, "trip_exports@base")
    tables = set(inspect(engine).get_table_names())
    assert not TABLES & tables and "process_hold" in tables
    with engine.begin() as connection:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
    assert TABLES <= set(inspect(engine).get_table_names())
