"""The registry's privacy rules in regular exports, the per-type columns, the Help sheet, the
scrambling at expiry and token expiry; every expectation worked out by hand in the comments."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime, timedelta
from typing import Any

import openpyxl
import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from platform_assets.core.mailer import Mailer
from platform_assets.core.objectstore import ObjectStore
from platform_assets.trip_exports.campaigns import CampaignConfig
from platform_assets.trip_exports.columns import columns_for
from platform_assets.trip_exports.errors import ExportNotFound, TripExportError
from platform_assets.trip_exports.privacy import round_up_10_minutes, trip_status, truncate_coordinate
from platform_assets.trip_exports.run import run_export
from platform_assets.trip_exports.scope import Actor
from platform_assets.trip_exports.service import ExportRequest, create_export, expire_exports, get_export
from platform_assets.trip_exports.tables import Export, Log, Recipient
from platform_assets.trip_exports.tokens import authenticate, create_token, list_tokens
from platform_assets_tests.trip_exports.conftest import (
    LYON_ADMIN,
    OPERATOR_1_ADMIN,
    REGISTRY_ADMIN,
    REGISTRY_USER,
    RULES,
    TODAY,
    insert_trips,
    trip,
)


def workbook_rows(store: ObjectStore, key: str, sheet: str = "Trips") -> tuple[list[str], list[dict[str, Any]]]:
    with zipfile.ZipFile(io.BytesIO(store.read_bytes(key))) as archive:
        (name,) = archive.namelist()
        xlsx = archive.read(name)
    values = [list(row) for row in openpyxl.load_workbook(io.BytesIO(xlsx))[sheet].values]
    return values[0], [dict(zip(values[0], row, strict=True)) for row in values[1:]]


def march_trips() -> list[dict[str, Any]]:
    march_3 = datetime(2025, 3, 3, 7, 1, tzinfo=UTC)  # 08:01 in Paris (UTC+1 in March before the 30th)
    return [
        trip(1, "69123", "69266", start_datetime=march_3, end_datetime=march_3 + timedelta(minutes=20),
             start_lon=4.83519, start_lat=45.75899, end_lon=4.87999, end_lat=45.76699),
        trip(2, "69123", "69135", start_datetime=datetime(2025, 3, 3, 7, 10, tzinfo=UTC),
             end_datetime=datetime(2025, 3, 3, 8, 0, 1, tzinfo=UTC), end_lon=4.51869, end_lat=46.21908),
        trip(3, acquisition_status="pending"),
        trip(4, acquisition_status="canceled"),
        trip(5, fraud_status="failed"),
        trip(6, anomaly_status="error"),
        # 31 March 22:30 UTC is 1 April 00:30 in Paris (summer time since 30 March): not March.
        trip(7, start_datetime=datetime(2025, 3, 31, 22, 30, tzinfo=UTC),
             end_datetime=datetime(2025, 3, 31, 22, 50, tzinfo=UTC)),
        # 28 February 23:30 UTC is 1 March 00:30 in Paris: March.
        trip(8, start_datetime=datetime(2025, 2, 28, 23, 30, tzinfo=UTC),
             end_datetime=datetime(2025, 2, 28, 23, 55, 30, tzinfo=UTC)),
        trip(9, cee_application=True),
    ]


def test_regular_export_follows_the_registry_rules(engine: Engine, store: ObjectStore, outbox_mailer: Mailer) -> None:
    insert_trips(engine, march_trips())
    view = create_export(engine, REGISTRY_ADMIN, ExportRequest("2025-03-01", "2025-03-31"), RULES, today=TODAY)
    outcome = run_export(engine, view.uuid, store, outbox_mailer, CampaignConfig(), RULES, reader_process=False)
    header, rows = workbook_rows(store, outcome.stored.key)
    by_id = {row["journey_id"]: row for row in rows}
    # Only processed trips (3 pending, 4 canceled out), March in Paris days (7 out, 8 in).
    assert sorted(by_id) == [1, 2, 5, 6, 8, 9]

    one = by_id[1]  # 08:01 -> 08:10 Paris; ends 08:21 -> 08:30
    assert (one["start_datetime"], one["start_date"], one["start_time"]) == (
        datetime(2025, 3, 3, 8, 10), datetime(2025, 3, 3), "08:10:00")
    assert (one["end_datetime"], one["end_date"], one["end_time"]) == (
        datetime(2025, 3, 3, 8, 30), datetime(2025, 3, 3), "08:30:00")
    # Lyon (10,910 inh/km2) and Villeurbanne (156,928 / 14.52 = 10,808): 3 decimals, cut not rounded.
    assert (one["start_lon"], one["start_lat"], one["end_lon"], one["end_lat"]) == (4.835, 45.758, 4.879, 45.766)
    assert one["status"] == "ok" and one["cee_application"] is False and one["duration"] == 1200
    two = by_id[2]  # 08:10 exactly stays; 09:00:01 goes to 09:10; Monsols (19.4 inh/km2): 2 decimals
    assert (two["start_time"], two["end_time"]) == ("08:10:00", "09:10:00")
    assert (two["end_lon"], two["end_lat"]) == (4.51, 46.21)
    assert (by_id[5]["status"], by_id[6]["status"]) == ("fraud_error", "anomaly_error")
    eight = by_id[8]  # 00:30 Paris on 1 March stays; ends 00:55:30 -> 01:00
    assert (eight["start_datetime"], eight["end_time"]) == (datetime(2025, 3, 1, 0, 30), "01:00:00")
    assert by_id[9]["cee_application"] is True
    assert "acquisition_status" not in header and "fraud_status" not in header


@pytest.mark.parametrize(
    ("acquisition", "fraud", "anomaly", "status"),
    [
        ("processed", "passed", "ok", "ok"),
        ("processed", "passed", "passed", "ok"),
        ("processed", "failed", "error", "fraud_error"),  # fraud is checked before anomaly
        ("processed", "passed", "error", "anomaly_error"),
        ("processed", "pending", "ok", "pending"),
        ("canceled", "failed", "ok", "canceled"),
        ("failed", "passed", "ok", "acquisition_error"),
        ("expired", "passed", "ok", "terms_violation_error"),
        ("received", "passed", "ok", "pending"),
        (None, "passed", "ok", "unknown"),
    ],
)
def test_one_trip_status(acquisition: str | None, fraud: str, anomaly: str, status: str) -> None:
    assert trip_status(acquisition, fraud, anomaly) == status


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [(4.83519, 3, 4.835), (4.83599, 2, 4.83), (-1.23456, 3, -1.234), (2.3, 3, 2.3), (45.0, 2, 45.0),
     (1e-05, 3, 0.0), (None, 3, None)],
)
def test_coordinates_are_truncated(value: float | None, decimals: int, expected: float | None) -> None:
    assert truncate_coordinate(value, decimals) == expected


def test_local_rounding_crosses_midnight() -> None:
    assert round_up_10_minutes(datetime(2025, 3, 31, 23, 51)) == datetime(2025, 4, 1, 0, 0)
    assert round_up_10_minutes(datetime(2025, 3, 31, 23, 50)) == datetime(2025, 3, 31, 23, 50)


# -- columns per type -------------------------------------------------------------------------------
# The registry's `fields` (config/export.ts) and the name each has here.
REGISTRY_FIELDS = {
    "journey_id": "journey_id", "operator_trip_id": "operator_trip_id", "operator_journey_id": "operator_journey_id",
    "operator_class": "operator_class", "status": "status",
    "start_datetime": "start_datetime", "start_date": "start_date", "start_time": "start_time",
    "end_datetime": "end_datetime", "end_date": "end_date", "end_time": "end_time",
    "duration": "duration", "distance": "distance",
    "start_lat": "start_lat", "start_lon": "start_lon", "end_lat": "end_lat", "end_lon": "end_lon",
    "start_insee": "start_insee", "start_commune": "start_town", "start_departement": "start_department",
    "start_epci": "start_epci", "start_aom": "start_aom", "start_region": "start_region", "start_pays": "start_country",
    "end_insee": "end_insee", "end_commune": "end_town", "end_departement": "end_department",
    "end_epci": "end_epci", "end_aom": "end_aom", "end_region": "end_region", "end_pays": "end_country",
    "operator": "operator", "passenger_identity_key": "passenger_id", "driver_identity_key": "driver_id",
    "driver_revenue": "driver_revenue", "passenger_contribution": "passenger_contribution",
    "passenger_seats": "passenger_seats", "cee_application": "cee_application", "incentive_type": "incentive_type",
    **{f"incentive_{index}_{part}": f"incentive_{index + 1}_{part}" for index in range(3)
       for part in ("siret", "name", "amount")},
    **{f"incentive_rpc_{index}_{part}": f"incentive_rpc_{index + 1}_{part}" for index in range(3)
       for part in ("campaign_id", "campaign_name", "siret", "name", "amount")},
}


def test_columns_per_export_type_follow_the_registry_configuration() -> None:
    names = {kind: [column.name for column in columns_for(kind)] for kind in ("registry", "regular", "territory", "operator")}
    # The registry's 66 fields - has_incentive (filtered out of every regular target) - the 2
    # operator user ids the trips here do not hold = 63; + trip_id (the registry's carpool id) = 64.
    assert len(REGISTRY_FIELDS) == 63
    assert (len(names["registry"]), len(names["regular"]), len(names["territory"]), len(names["operator"])) == (64, 64, 64, 63)
    assert set(REGISTRY_FIELDS.values()) | {"trip_id"} == set(names["territory"])
    # Territories keep what they audit campaigns with; operators lose only their own name.
    assert {"passenger_id", "driver_id", "operator_journey_id", "operator_trip_id"} <= set(names["territory"])
    assert set(names["registry"]) - set(names["operator"]) == {"operator"}
    assert len(set(names["registry"])) == 64  # no duplicate header


def test_help_sheet_names_the_callers_own_territory_and_operator(
    sqlite_engine: Engine, store: ObjectStore, outbox_mailer: Mailer
) -> None:
    insert_trips(sqlite_engine, [trip(journey_id) for journey_id in range(1, 4)])
    expected = {
        LYON_ADMIN: ("all operators", "your territory aom:256900994 (Sytral Mobilités)"),
        OPERATOR_1_ADMIN: ("operator 1 (your organisation)", "all territories"),
    }
    for actor, (operators, territories) in expected.items():
        view = create_export(sqlite_engine, actor, ExportRequest("2025-03-01", "2025-03-31"), RULES, today=TODAY)
        outcome = run_export(sqlite_engine, view.uuid, store, outbox_mailer, CampaignConfig(), RULES)
        with zipfile.ZipFile(io.BytesIO(store.read_bytes(outcome.stored.key))) as archive:
            xlsx = archive.read(archive.namelist()[0])
        lines = {row[0]: row[1] for row in openpyxl.load_workbook(io.BytesIO(xlsx))["Help"].values if row[0]}
        assert (lines["operators"], lines["territories"]) == (operators, territories)
        assert "all in scope" not in lines.values()
        assert lines["period"] == "2025-03-01 to 2025-03-31, whole days in Europe/Paris"


def test_reader_process_writes_the_same_workbook(
    pg_engine: Engine, store: ObjectStore, outbox_mailer: Mailer
) -> None:
    """The same export read in a separate process (with COPY and the rules in SQL, or the Python
    reader formatting the XML there, or handing rows over) and in-process: both readers get the
    same cells from the four files."""
    from platform_assets.trip_exports.generator import load_trips

    load_trips(pg_engine, 400, date(2025, 3, 1), date(2025, 4, 1), seed=11)  # ~380 processed
    with pg_engine.connect() as connection:  # independent oracle: processed trips of March in Paris
        expected = connection.exec_driver_sql(
            "SELECT count(*) FROM trips WHERE acquisition_status = 'processed' "
            "AND start_datetime >= '2025-03-01 00:00:00+01' AND start_datetime < '2025-04-01 00:00:00+02'"
        ).scalar_one()
    cells = []
    for reader_process, format_in_reader, read_with_copy in (
        (True, True, True), (True, True, False), (True, False, False), (False, False, False),
    ):
        view = create_export(pg_engine, REGISTRY_ADMIN, ExportRequest("2025-03-01", "2025-03-31"), RULES, today=TODAY)
        # 150 rows a sheet (149 trips): the rows continue on "Trips 2" and "Trips 3" every way.
        outcome = run_export(pg_engine, view.uuid, store, outbox_mailer, CampaignConfig(), RULES,
                             batch_size=64, max_rows_per_sheet=150, reader_process=reader_process,
                             format_in_reader=format_in_reader, read_with_copy=read_with_copy)
        assert outcome.rows == expected and (outcome.reader_peak_rss_mb is not None) == reader_process
        assert outcome.sheets == ("Trips", "Trips 2", "Trips 3")
        with zipfile.ZipFile(io.BytesIO(store.read_bytes(outcome.stored.key))) as archive:
            xlsx = archive.read(archive.namelist()[0])
        workbook = openpyxl.load_workbook(io.BytesIO(xlsx))
        calamine = CalamineWorkbook.from_filelike(io.BytesIO(xlsx))
        cells.append([
            ([list(row) for row in workbook[title].values], calamine.get_sheet_by_name(title).to_python())
            for title in outcome.sheets
        ])
    assert sum(len(by_openpyxl) - 1 for by_openpyxl, _ in cells[0]) == expected
    assert cells[0] == cells[1] == cells[2] == cells[3]


def test_a_failing_reader_process_fails_the_export_in_one_line(
    pg_engine: Engine, store: ObjectStore, outbox_mailer: Mailer
) -> None:
    insert_trips(pg_engine, [trip(journey_id) for journey_id in range(1, 4)])
    view = create_export(pg_engine, REGISTRY_ADMIN, ExportRequest("2025-03-01", "2025-03-31"), RULES, today=TODAY)
    with pg_engine.begin() as connection:  # the child reads a column the table no longer has
        connection.exec_driver_sql("ALTER TABLE trips RENAME COLUMN cee_application TO cee_gone")
    try:
        with pytest.raises(TripExportError, match="reading the trips failed: (ProgrammingError|UndefinedColumn): .*cee_application"):
            run_export(pg_engine, view.uuid, store, outbox_mailer, CampaignConfig(), RULES, reader_process=True)
    finally:
        with pg_engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE trips RENAME COLUMN cee_gone TO cee_application")
    done = get_export(pg_engine, REGISTRY_ADMIN, view.uuid)
    assert done.status == "error" and "\n" not in done.error and store.list("trip_exports/") == []


# -- expiry: the creator too; tokens with an expiry date ----------------------------------------------
def test_expiry_scrambles_the_creator_and_the_addresses_in_the_logs(
    sqlite_engine: Engine, store: ObjectStore, outbox_mailer: Mailer
) -> None:
    insert_trips(sqlite_engine, [trip(1)])
    view = create_export(sqlite_engine, REGISTRY_USER, ExportRequest(
        "2025-03-01", "2025-03-31", recipients=["Ana Lopez <ana@example.org>"]), RULES, today=TODAY)
    run_export(sqlite_engine, view.uuid, store, outbox_mailer, CampaignConfig(), RULES)
    later = datetime.now(UTC) + timedelta(days=RULES.expiry_days, minutes=1)
    assert expire_exports(sqlite_engine, store, now=later) == [view.uuid]
    with Session(sqlite_engine) as session:
        export = session.execute(select(Export).where(Export.uuid == view.uuid)).scalar_one()
        assert export.created_by != "user@registry.example" and export.created_by.endswith("@scrambled.invalid")
        (recipient,) = session.execute(select(Recipient).where(Recipient.export_id == export.id)).scalars()
        assert recipient.email.endswith("@scrambled.invalid")
        messages = [log.message for log in session.execute(select(Log).where(Log.export_id == export.id)).scalars()]
    assert any("created by [scrambled]" in message for message in messages)
    assert not [message for message in messages if "user@registry.example" in message or "ana@example.org" in message]
    # The creator's own view is gone with its address; the registry admins still see the export.
    with pytest.raises(ExportNotFound):
        get_export(sqlite_engine, REGISTRY_USER, view.uuid)
    assert get_export(sqlite_engine, REGISTRY_ADMIN, view.uuid).status == "expired"


def test_tokens_can_carry_an_expiry_date(engine: Engine) -> None:
    soon = datetime.now(UTC) + timedelta(hours=1)
    token, info = create_token(engine, REGISTRY_ADMIN, "temp@registry.example", "registry.user", expires_at=soon)
    assert info.expires_at == soon
    assert authenticate(engine, token) == (info.id, Actor("temp@registry.example", "registry.user", None))
    listed = next(item for item in list_tokens(engine, REGISTRY_ADMIN) if item.id == info.id)
    assert listed.expires_at is not None and listed.expires_at.replace(tzinfo=UTC) == soon
    # Past its expiry the same token is refused (the row's date moved back, as time would).
    from sqlalchemy import update

    from platform_assets.trip_exports.tables import ApiToken

    with engine.begin() as connection:
        connection.execute(update(ApiToken).where(ApiToken.id == info.id)
                           .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert authenticate(engine, token) is None
    with pytest.raises(TripExportError, match="already past"):
        create_token(engine, REGISTRY_ADMIN, "late@registry.example", "registry.user",
                     expires_at=datetime.now(UTC) - timedelta(days=1))
    forever, forever_info = create_token(engine, REGISTRY_ADMIN, "ever@registry.example", "registry.user")
    assert forever_info.expires_at is None and authenticate(engine, forever) is not None
