"""SQLAlchemy conventions shared by every table the platform defines (no engine here)."""

from __future__ import annotations

from sqlalchemy import MetaData

# Constraint names that are identical on SQLite and PostgreSQL, so migrations stay portable.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """A MetaData for one system's tables, with the platform's naming convention."""
    return MetaData(naming_convention=NAMING_CONVENTION)
