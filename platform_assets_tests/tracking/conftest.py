"""Tracking tests run on SQLite and PostgreSQL: `database_url` is parametrized over both."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete

from platform_assets.core.database import dispose_engine, get_engine, upgrade_database
from platform_assets.core.holds import process_hold
from platform_assets.tracking.api import tracker_for
from platform_assets.tracking.models import Base
from platform_assets.tracking.tracker import ProcessTracker


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated platform database with empty tracking tables."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'platform.db'}"
        upgrade_database(url)
        request.addfinalizer(lambda: dispose_engine(url))
        return url
    url = request.getfixturevalue("postgres_url")
    upgrade_database(url)
    with get_engine(url).begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(delete(table))
        connection.execute(delete(process_hold))
    return url


@pytest.fixture
def tracker(database_url: str) -> ProcessTracker:
    return tracker_for(database_url)
