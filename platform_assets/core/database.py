"""The platform database: one SQLAlchemy engine per URL and Alembic migrations for every system.

Each system keeps its tables in its own metadata and its migrations in its own Alembic branch
(`platform_assets/<system>/migrations/`, `branch_labels=("<system>",)`), so systems never share
a revision chain; `upgrade()` applies `heads`, i.e. every branch.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field

from platform_assets.core.errors import DatabaseError
from platform_assets.core.settings import PACKAGE_ROOT, redact_url, setting

if TYPE_CHECKING:  # alembic and SQLAlchemy load where a run uses the database, not with the code location
    from alembic.config import Config
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

ALEMBIC_DIR = Path(__file__).resolve().parent / "alembic"



def version_locations() -> list[str]:
    """Every system's migrations folder (found on disk: core imports no system)."""
    return sorted(str(path) for path in PACKAGE_ROOT.glob("*/migrations") if path.is_dir())


_engines: dict[str, Engine] = {}
_upgraded: set[str] = set()
_lock = threading.Lock()


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def get_engine(url: str) -> Engine:
    """The process-wide engine for `url` (created on first use)."""
    from sqlalchemy import create_engine, event

    with _lock:
        engine = _engines.get(url)
        if engine is None:
            if url.startswith("sqlite:///"):
                Path(url.removeprefix("sqlite:///")).absolute().parent.mkdir(parents=True, exist_ok=True)
                engine = create_engine(url, connect_args={"timeout": 30})
                event.listen(engine, "connect", _sqlite_pragmas)
            else:
                engine = create_engine(url, pool_pre_ping=True)
            _engines[url] = engine
        return engine


def dispose_engine(url: str) -> None:
    with _lock:
        engine = _engines.pop(url, None)
        _upgraded.discard(url)
    if engine is not None:
        engine.dispose()


def describe_db_error(url: str, error: BaseException) -> str:
    first_line = str(getattr(error, "orig", None) or error).strip().splitlines()[0] if str(error) else repr(error)
    return f"PLATFORM_DATABASE_URL={redact_url(url)}: cannot use the database: {first_line}"


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    config.set_main_option("version_locations", " ".join(version_locations()))
    config.set_main_option("path_separator", "space")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


MIGRATION_LOCK_KEY = 0x706C6174  # PostgreSQL advisory lock held while the platform migrates


@contextmanager
def _migration_lock(url: str) -> Iterator[None]:
    """On SQLite, an exclusive lock on a file beside the database while migrating: two processes
    that both read an empty version table before either writes would each stamp it (alembic's
    "more than one head present"). PostgreSQL takes an advisory lock instead."""
    if not url.startswith("sqlite:///") or url.endswith(":memory:"):
        yield
        return
    import fcntl

    lock_path = Path(url.removeprefix("sqlite:///")).absolute().with_suffix(".migrate-lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def upgrade_database(url: str) -> None:
    """Apply every system's migrations to `url` (idempotent; raises DatabaseError on failure)."""
    from alembic import command
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    engine = get_engine(url)
    try:
        with _migration_lock(url), engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Processes starting together (webserver, daemon, run workers) migrate one at a time.
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, "heads")
    except SQLAlchemyError as error:
        raise DatabaseError(describe_db_error(url, error)) from error
    with _lock:
        _upgraded.add(url)


def ping_database(url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with get_engine(url).connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        raise DatabaseError(describe_db_error(url, error)) from error


class PlatformDatabase(ConfigurableResource):
    """The platform database; migrations are applied once per process when a run first uses it."""

    url: str = setting(
        "PLATFORM_DATABASE_URL",
        "sqlite:///{data_dir}/platform.db",
        "SQLAlchemy URL of the platform database (PostgreSQL in production).",
        secret=True,  # may hold a password: read through EnvVar, never shown
    )
    migrate_on_start: bool = Field(default=True, description="Apply Alembic migrations at start-up.")

    def setup_for_execution(self, context: InitResourceContext) -> None:
        if self.migrate_on_start and self.url not in _upgraded:
            upgrade_database(self.url)

    @property
    def engine(self) -> Engine:
        return get_engine(self.url)

    def upgrade(self) -> None:
        upgrade_database(self.url)

    def ping(self) -> None:
        ping_database(self.url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on error."""
        from sqlalchemy.orm import sessionmaker

        factory = sessionmaker(bind=self.engine, expire_on_commit=False)
        with factory.begin() as session:
            yield session
