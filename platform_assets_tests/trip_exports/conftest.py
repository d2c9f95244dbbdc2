"""Fixtures of the trip-export tests: migrated SQLite / PostgreSQL databases, hand-made trips, actors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, insert

from platform_assets.core.database import dispose_engine, get_engine, upgrade_database
from platform_assets.core.mailer import Mailer
from platform_assets.core.objectstore import LocalObjectStore, ObjectStore
from platform_assets.trip_exports import geo
from platform_assets.trip_exports.scope import Actor
from platform_assets.trip_exports.service import ExportRules
from platform_assets.trip_exports.tables import Export, Log, Recipient, trips_table

# "today" of the tests: the date rules (end >= 5 days ago, start <= 3 years ago) are relative to it.
TODAY = date(2025, 6, 15)
MONTH_START = datetime(2025, 3, 1, tzinfo=UTC)


def trip(journey_id: int, start_insee: str = "69123", end_insee: str = "69266", **values: Any) -> dict[str, Any]:
    """One trips row with sensible defaults; `values` override any column."""
    origin, destination = geo.commune_by_insee()[start_insee], geo.commune_by_insee()[end_insee]
    start = values.pop("start_datetime", MONTH_START + timedelta(days=2, hours=7, minutes=journey_id % 50))
    row: dict[str, Any] = {column.name: None for column in trips_table.columns}
    row.update(
        journey_id=journey_id,
        trip_id=f"trip-{journey_id}",
        operator_journey_id=f"op-{journey_id}",
        operator_trip_id=f"op-t{journey_id}",
        operator_class="C",
        operator_id=1,
        operator_name="Klaxit",
        start_datetime=start,
        end_datetime=values.pop("end_datetime", start + timedelta(minutes=20)),
        distance=8000,
        duration=1200,
        passenger_id=f"p{journey_id}",
        driver_id=f"d{journey_id}",
        passenger_seats=1,
        passenger_contribution=150,
        driver_revenue=250,
        acquisition_status="processed",
        fraud_status="passed",
        anomaly_status="ok",
        cee_application=False,
    )
    for side, commune in (("start", origin), ("end", destination)):
        row.update(
            {
                f"{side}_lon": commune.lon,
                f"{side}_lat": commune.lat,
                f"{side}_insee": commune.insee,
                f"{side}_town": commune.town,
                f"{side}_department": commune.department,
                f"{side}_epci": commune.epci,
                f"{side}_epci_name": commune.epci_name,
                f"{side}_aom": commune.aom,
                f"{side}_aom_name": commune.aom_name,
                f"{side}_region": commune.region,
                f"{side}_region_name": commune.region_name,
                f"{side}_country": commune.country,
            }
        )
    row.update(values)
    return row


def insert_trips(engine: Engine, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as connection:
        connection.execute(insert(trips_table), rows)


def clear(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in (Log.__table__, Recipient.__table__, Export.__table__, trips_table):
            connection.execute(delete(table))


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path}/platform.db"
    upgrade_database(url)
    yield get_engine(url)
    dispose_engine(url)


@pytest.fixture
def pg_engine(postgres_url: str) -> Iterator[Engine]:
    """The session's PostgreSQL database, migrated once, emptied before each test."""
    upgrade_database(postgres_url)
    engine = get_engine(postgres_url)
    clear(engine)
    yield engine


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """Both backends: every test using it runs on SQLite and on PostgreSQL."""
    return request.getfixturevalue("sqlite_engine" if request.param == "sqlite" else "pg_engine")


@pytest.fixture
def store(tmp_path: Path) -> ObjectStore:
    return LocalObjectStore(local_dir=str(tmp_path / "objects"))


@pytest.fixture
def outbox_mailer(tmp_path: Path) -> Mailer:
    return Mailer(outbox_dir=str(tmp_path / "outbox"))


# Mail retries wait 0.05 s, 0.1 s, 0.2 s: real backoff, test-sized.
RULES = ExportRules(technical_admins=("tech@registry.example",), mail_retry_seconds=0.05)

REGISTRY_ADMIN = Actor.parse("Reg Admin <admin@registry.example>", "registry.admin")
REGISTRY_USER = Actor.parse("Reg User <user@registry.example>", "registry.user")
OPERATOR_1_ADMIN = Actor.parse("Op One Admin <admin@op1.example>", "operator.admin", "1")
OPERATOR_1_USER = Actor.parse("Op One User <user@op1.example>", "operator.user", "1")
OPERATOR_2_ADMIN = Actor.parse("Op Two Admin <admin@op2.example>", "operator.admin", "2")
LYON_ADMIN = Actor.parse("Lyon Admin <admin@lyon.example>", "territory.admin", "aom:256900994")
LYON_USER = Actor.parse("Lyon User <user@lyon.example>", "territory.user", "aom:256900994")
IDF_ADMIN = Actor.parse("IDF Admin <admin@idf.example>", "territory.admin", "aom:287500078")


def policy_resources(**resources: object) -> dict[str, object]:
    """`resources` plus trip exports' policy resources at their defaults (what sensors and the
    assets need beside the database, store and mailer)."""
    from platform_assets.core.alerts import PlatformInfo
    from platform_assets.core.settings import configure
    from platform_assets.trip_exports.resources import OpenDataPortal, TripExportPolicy

    # Through the environment, as the code location binds them (a test may set a variable).
    return {"trip_exports": configure(TripExportPolicy), "opendata_portal": configure(OpenDataPortal),
            "platform": PlatformInfo(), **resources}
