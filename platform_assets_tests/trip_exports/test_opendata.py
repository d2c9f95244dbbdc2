"""Open-data rules, each with hand-computed expectations, then the asset with a local portal."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from dagster import instance_for_test, materialize
from python_calamine import CalamineWorkbook
from sqlalchemy import Engine

from platform_assets.core.database import PlatformDatabase
from platform_assets.core.objectstore import ObjectStore
from platform_assets.trip_exports.assets import opendata_trip_export
from platform_assets.trip_exports.errors import PortalError
from platform_assets.trip_exports.opendata import (
    OPENDATA_COLUMNS,
    build_opendata,
    count_starts_and_ends,
    cut_coordinate,
    decimals_for,
    duration_minutes,
    opendata_month_bounds,
    publish_opendata,
    round_up_10_minutes,
    upload_opendata,
    verify_opendata_csv,
)
from platform_assets.trip_exports.service import list_exports
from platform_assets_tests.servers import HttpServer, Request, Response
from platform_assets_tests.trip_exports.conftest import REGISTRY_ADMIN, insert_trips, policy_resources, trip


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2025, 3, 3, 7, 1, tzinfo=UTC), datetime(2025, 3, 3, 7, 10, tzinfo=UTC)),
        (datetime(2025, 3, 3, 7, 10, tzinfo=UTC), datetime(2025, 3, 3, 7, 10, tzinfo=UTC)),  # exact: stays
        (datetime(2025, 3, 3, 7, 10, 0, 1, tzinfo=UTC), datetime(2025, 3, 3, 7, 20, tzinfo=UTC)),
        (datetime(2025, 3, 3, 7, 0, 59, tzinfo=UTC), datetime(2025, 3, 3, 7, 10, tzinfo=UTC)),
        (datetime(2025, 3, 31, 23, 52, tzinfo=UTC), datetime(2025, 4, 1, 0, 0, tzinfo=UTC)),  # next day
        (datetime(2025, 3, 3, 7, 59), datetime(2025, 3, 3, 8, 0, tzinfo=UTC)),  # naive = UTC (SQLite)
    ],
)
def test_times_round_up_to_10_minutes(moment: datetime, expected: datetime) -> None:
    assert round_up_10_minutes(moment) == expected


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (4.83519, 3, 4.835),
        (4.83599, 2, 4.83),  # cut, not rounded (rounding would give 4.84)
        (45.7589999, 3, 45.758),
        (-1.23456, 3, -1.234),  # toward zero
        (2.3, 3, 2.3),  # no float drift (2.3 * 1000 = 2299.999...)
        (None, 2, None),
    ],
)
def test_coordinates_are_cut(value: float | None, decimals: int, expected: float | None) -> None:
    assert cut_coordinate(value, decimals) == expected


@pytest.mark.parametrize(
    ("insee", "decimals"),
    [
        ("69123", 3),  # Lyon: 522250 / 47.87 = 10910 inh/km2
        ("38226", 3),  # Mens: 1420 / 33.70 = 42.1 > 40
        ("77244", 2),  # Jouy-le-Châtel: 1520 / 46.32 = 32.8
        ("69135", 2),  # Monsols: 1010 / 52.10 = 19.4
        ("38514", 2),  # Tréminis: 190 / 61.13 = 3.1
        ("00000", 2),  # unknown: the safer precision
    ],
)
def test_precision_follows_population_density(insee: str, decimals: int) -> None:
    assert decimals_for(insee) == decimals


def march_trips() -> list[dict]:
    """Hand-made March 2025 (and one April) trips; expectations below are counted by hand."""
    rows = [trip(1, "69123", "69266", start_lon=4.83519, start_lat=45.75899, incentive_rpc_1_amount=150)]
    # 21:52 UTC on 31 March is 23:52 in Paris (UTC+2 since 30 March): still March.
    rows.append(trip(2, "69123", "69266", start_datetime=datetime(2025, 3, 31, 21, 52, tzinfo=UTC),
                     end_datetime=datetime(2025, 3, 31, 21, 59, 59, tzinfo=UTC)))
    rows += [trip(journey_id, "69123", "69266") for journey_id in range(3, 7)]  # Lyon -> Villeurbanne: 6
    rows += [trip(journey_id, "69123", "38514") for journey_id in range(7, 12)]  # Lyon -> Tréminis: 5
    rows.append(trip(12, "69259", "69123"))  # Vénissieux -> Lyon: Vénissieux has 1
    rows.append(trip(13, "69123", "38514", acquisition_status="pending"))  # not processed: not counted
    rows.append(trip(14, "69123", "38514", fraud_status="failed"))  # fraud: not counted
    rows.append(trip(15, "69123", "38514", start_datetime=datetime(2025, 4, 2, 8, tzinfo=UTC)))  # April
    rows += [trip(journey_id, "69123", "69135", end_lon=4.51869, end_lat=46.21908) for journey_id in range(16, 22)]
    return rows


def test_small_areas_are_dropped_and_counted(engine: Engine, tmp_path: Path, shared_data: Path) -> None:
    insert_trips(engine, march_trips())
    # Eligible trips (13 pending, 14 fraud, 15 April do not count) per start code: Lyon 1-11 and
    # 16-21 = 17, Vénissieux 12 = 1; per end code: Villeurbanne 1-6 = 6, Tréminis 7-11 = 5,
    # Lyon 12 = 1, Monsols 16-21 = 6.
    assert count_starts_and_ends(engine, "2025-03") == (
        {"69123": 17, "69259": 1},
        {"69266": 6, "38514": 5, "69123": 1, "69135": 6},
    )
    files = build_opendata(engine, "2025-03", tmp_path)
    stats = files.stats
    assert (stats.trips_in_month, stats.eligible, stats.excluded_status) == (20, 18, 2)
    # Dropped: 7-11 (5 end in Tréminis), 12 (1 starts in Vénissieux). Small communes: Vénissieux
    # (starts), Tréminis and Lyon (ends) = 3.
    assert (stats.dropped_small_areas, stats.small_area_codes, stats.published) == (6, 3, 12)

    header_line = (shared_data / "carpool" / "rpc_opendata_header.csv").read_text(encoding="utf-8").splitlines()[0]
    lines = files.csv_path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == header_line
    header = next(csv.reader(io.StringIO(header_line), delimiter=";"))
    assert [column.name for column in OPENDATA_COLUMNS] == header and len(header) == 27
    rows = [dict(zip(header, row, strict=True)) for row in csv.reader(io.StringIO("\n".join(lines[1:])), delimiter=";")]
    assert sorted(int(row["journey_id"]) for row in rows) == [1, 2, 3, 4, 5, 6, 16, 17, 18, 19, 20, 21]
    by_id = {int(row["journey_id"]): row for row in rows}
    # 07:01 UTC = 08:01 Paris (UTC+1 on 3 March) -> 08:10, ends 08:21 -> 08:30; Lyon is dense: 3 decimals
    one = by_id[1]
    assert (one["journey_start_datetime"], one["journey_start_date"], one["journey_start_time"]) == (
        "2025-03-03T08:10:00+01:00", "2025-03-03", "08:10:00")
    assert one["journey_end_datetime"] == "2025-03-03T08:30:00+01:00"
    assert (one["journey_start_lon"], one["journey_start_lat"]) == ("4.835", "45.758")
    assert (one["journey_duration"], one["journey_distance"], one["has_incentive"]) == ("20", "8000", "true")
    assert one["journey_start_towngroup"] == "Métropole de Lyon"
    two = by_id[2]  # 23:52 Paris on 31 March rounds to midnight, 1 April
    assert (two["journey_start_date"], two["journey_start_time"], two["has_incentive"]) == ("2025-04-01", "00:00:00", "false")
    assert two["journey_start_datetime"] == "2025-04-01T00:00:00+02:00"
    sixteen = by_id[16]  # Monsols is sparse: 2 decimals
    assert (sixteen["journey_end_lon"], sixteen["journey_end_lat"]) == ("4.51", "46.21")
    # Nothing about operators, people or money.
    assert not {"operator", "passenger_id", "driver_id", "driver_revenue", "passenger_contribution"} & set(header)

    workbook = openpyxl.load_workbook(files.xlsx_path, read_only=True)
    sheet = list(workbook["Trips"].values)
    assert list(sheet[0]) == header and len(sheet) == 13
    first = dict(zip(header, sheet[1], strict=True))
    assert first["journey_start_datetime"] == datetime(2025, 3, 3, 8, 10) and first["journey_start_lon"] == 4.835
    assert first["has_incentive"] is True
    calamine = CalamineWorkbook.from_path(str(files.xlsx_path)).get_sheet_by_name("Trips").to_python()
    assert len(calamine) == 13 and calamine[0] == header


def test_starts_and_ends_are_counted_apart(engine: Engine, tmp_path: Path) -> None:
    """Vénissieux has 3 starts and 3 ends: 6 trips touch it (kept by a single touched-count rule)
    but fewer than 6 start there and fewer than 6 end there, so the registry drops all 6."""
    rows = [trip(journey_id, "69123", "69266") for journey_id in range(1, 7)]  # Lyon -> Villeurbanne
    rows += [trip(journey_id, "69266", "69123") for journey_id in range(7, 13)]  # Villeurbanne -> Lyon
    rows += [trip(journey_id, "69259", "69123") for journey_id in range(13, 16)]  # Vénissieux -> Lyon
    rows += [trip(journey_id, "69123", "69259") for journey_id in range(16, 19)]  # Lyon -> Vénissieux
    insert_trips(engine, rows)
    # Starts: Lyon 1-6 + 16-18 = 9, Villeurbanne 6, Vénissieux 3; ends: Villeurbanne 6,
    # Lyon 7-15 = 9, Vénissieux 3.
    assert count_starts_and_ends(engine, "2025-03") == (
        {"69123": 9, "69266": 6, "69259": 3},
        {"69266": 6, "69123": 9, "69259": 3},
    )
    files = build_opendata(engine, "2025-03", tmp_path)
    published = [int(row["journey_id"]) for row in csv.DictReader(files.csv_path.open(encoding="utf-8"), delimiter=";")]
    assert sorted(published) == list(range(1, 13))
    assert (files.stats.dropped_small_areas, files.stats.small_area_codes, files.stats.published) == (6, 1, 12)


def test_months_are_paris_months(engine: Engine, tmp_path: Path) -> None:
    """The registry's open-data months are Europe/Paris months: 23:30 UTC on 31 March 2025 is
    01:30 on 1 April in Paris (UTC+2 since 30 March), so those trips go into April's file;
    21:30 UTC the same evening is 23:30 Paris, still March. In winter Paris is UTC+1: 23:30 UTC
    on 28 February is 00:30 on 1 March."""
    rows = [trip(journey_id, "69123", "69266", start_datetime=datetime(2025, 3, 31, 23, 30, tzinfo=UTC),
                 end_datetime=datetime(2025, 3, 31, 23, 44, tzinfo=UTC)) for journey_id in range(1, 7)]
    rows += [trip(journey_id, "69123", "69266", start_datetime=datetime(2025, 3, 31, 21, 30, tzinfo=UTC),
                  end_datetime=datetime(2025, 3, 31, 21, 50, tzinfo=UTC)) for journey_id in range(7, 13)]
    rows += [trip(journey_id, "69123", "69266", start_datetime=datetime(2025, 2, 28, 23, 30, tzinfo=UTC),
                  end_datetime=datetime(2025, 2, 28, 23, 41, tzinfo=UTC)) for journey_id in range(13, 19)]
    insert_trips(engine, rows)
    # The month's UTC bounds: Paris midnights of 1 March (UTC+1) and 1 April (UTC+2).
    assert opendata_month_bounds("2025-03") == (datetime(2025, 2, 28, 23, tzinfo=UTC), datetime(2025, 3, 31, 22, tzinfo=UTC))
    assert count_starts_and_ends(engine, "2025-04") == ({"69123": 6}, {"69266": 6})
    assert count_starts_and_ends(engine, "2025-03") == ({"69123": 12}, {"69266": 12})
    assert count_starts_and_ends(engine, "2025-02") == ({}, {})

    def published(month: str) -> dict[int, dict[str, str]]:
        files = build_opendata(engine, month, tmp_path / month)
        rows = csv.DictReader(files.csv_path.open(encoding="utf-8"), delimiter=";")
        return {int(row["journey_id"]): row for row in rows}

    april = published("2025-04")
    assert sorted(april) == [1, 2, 3, 4, 5, 6]
    # 23:30 UTC -> 01:30 Paris (already on a 10-minute mark); ends 23:44 UTC -> 01:44 -> 01:50.
    assert [april[1][name] for name in ("journey_start_datetime", "journey_start_date", "journey_start_time",
                                        "journey_end_datetime", "journey_end_time", "journey_duration")] == [
        "2025-04-01T01:30:00+02:00", "2025-04-01", "01:30:00", "2025-04-01T01:50:00+02:00", "01:50:00", "14"]
    march = published("2025-03")
    assert sorted(march) == list(range(7, 19))
    assert (march[7]["journey_start_datetime"], march[7]["journey_end_date"], march[7]["journey_end_time"]) == (
        "2025-03-31T23:30:00+02:00", "2025-03-31", "23:50:00")
    # 23:30 UTC on 28 February -> 00:30 on 1 March, UTC+1; ends 23:41 -> 00:41 -> 00:50.
    assert (march[13]["journey_start_datetime"], march[13]["journey_end_datetime"]) == (
        "2025-03-01T00:30:00+01:00", "2025-03-01T00:50:00+01:00")
    workbook = openpyxl.load_workbook(tmp_path / "2025-04" / "trips-2025-04.xlsx", read_only=True)
    header, first = list(workbook["Trips"].values)[:2]
    cells = dict(zip(header, first, strict=True))
    assert (cells["journey_start_datetime"], cells["journey_start_date"]) == (datetime(2025, 4, 1, 1, 30), datetime(2025, 4, 1))
    assert build_opendata(engine, "2025-02", tmp_path / "2025-02").stats.trips_in_month == 0


@pytest.mark.parametrize(
    ("seconds", "minutes"),
    [
        (1230, 21),  # 20.5 min: half rounds up (Python's round() gives 20)
        (1350, 23),  # 22.5 min: up (round() gives 22)
        (1229, 20),
        (1231, 21),
        (29, 0),
        (30, 1),
        (0, 0),
    ],
)
def test_duration_halves_round_up(seconds: int, minutes: int) -> None:
    start = datetime(2025, 3, 3, 7, 1, tzinfo=UTC)
    assert duration_minutes(start, start + timedelta(seconds=seconds)) == minutes


def test_opendata_duration_is_rounded_half_up_in_the_file(sqlite_engine: Engine, tmp_path: Path) -> None:
    start = datetime(2025, 3, 3, 7, 1, tzinfo=UTC)
    rows = [trip(journey_id, "69123", "69266", start_datetime=start, end_datetime=start + timedelta(seconds=1230))
            for journey_id in range(1, 7)]
    insert_trips(sqlite_engine, rows)
    files = build_opendata(sqlite_engine, "2025-03", tmp_path)
    durations = {row["journey_duration"] for row in csv.DictReader(files.csv_path.open(encoding="utf-8"), delimiter=";")}
    assert durations == {"21"}


class Portal:
    """A local open-data portal: lists, creates and replaces resources of one dataset."""

    def __init__(self, server: HttpServer) -> None:
        self.resources: dict[str, dict] = {}
        base = "/api/1/datasets/carpool-trips/resources/"
        server.route("GET", base, lambda _r: Response(200, json.dumps(list(self.resources.values())).encode()))
        server.route("POST", base, self.create)
        self.server = server
        self.url = f"{server.base_url}/api/1"

    def create(self, request: Request) -> Response:
        assert request.headers.get("X-API-KEY") == "secret-key"
        resource = {"id": f"r{len(self.resources) + 1}", **json.loads(request.body)}
        self.resources[resource["id"]] = resource
        self.server.route("PUT", f"/api/1/datasets/carpool-trips/resources/{resource['id']}/", self.replace)
        return Response(201, json.dumps(resource).encode())

    def replace(self, request: Request) -> Response:
        resource_id = request.path.rstrip("/").rsplit("/", 1)[-1]
        self.resources[resource_id] = {"id": resource_id, **json.loads(request.body)}
        return Response(200, json.dumps(self.resources[resource_id]).encode())


def test_publish_creates_then_replaces(sqlite_engine: Engine, tmp_path: Path, store: ObjectStore,
                                       http_server: HttpServer) -> None:
    insert_trips(sqlite_engine, march_trips())
    upload_opendata(store, build_opendata(sqlite_engine, "2025-03", tmp_path))
    portal = Portal(http_server)
    first = publish_opendata(store, "2025-03", portal.url, "carpool-trips", "secret-key", "https://files.example/od")
    assert [(r.title, r.action) for r in first] == [("trips-2025-03.csv", "created"), ("trips-2025-03.xlsx", "created")]
    second = publish_opendata(store, "2025-03", portal.url, "carpool-trips", "secret-key", "https://files.example/od")
    assert [r.action for r in second] == ["replaced", "replaced"]
    assert len(portal.resources) == 2
    csv_resource = portal.resources["r1"]
    assert csv_resource["url"] == "https://files.example/od/trip_exports/opendata/2025-03/trips-2025-03.csv"
    assert "12 trips published out of 20" in csv_resource["description"]
    assert ("6 dropped because fewer than 6 trips of the month started in their start commune or ended in their "
            "end commune, 3 such communes") in csv_resource["description"]
    assert [r.method for r in http_server.requests].count("PUT") == 2


def test_portal_refusal_is_one_clear_line(sqlite_engine: Engine, tmp_path: Path, store: ObjectStore,
                                          http_server: HttpServer) -> None:
    insert_trips(sqlite_engine, march_trips())
    upload_opendata(store, build_opendata(sqlite_engine, "2025-03", tmp_path))
    http_server.route("GET", "/api/1/datasets/carpool-trips/resources/", Response(403, b"bad key"))
    with pytest.raises(PortalError, match="HTTP 403 bad key"):
        publish_opendata(store, "2025-03", f"{http_server.base_url}/api/1", "carpool-trips", "wrong")
    with pytest.raises(PortalError, match="PLATFORM_OPENDATA_PORTAL_URL is empty"):
        publish_opendata(store, "2025-03", "", "carpool-trips", "")


def test_opendata_asset_uploads_and_publishes(sqlite_engine: Engine, store: ObjectStore, http_server: HttpServer,
                                              platform_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    insert_trips(sqlite_engine, march_trips())
    portal = Portal(http_server)
    monkeypatch.setenv("PLATFORM_OPENDATA_PORTAL_URL", portal.url)
    monkeypatch.setenv("PLATFORM_OPENDATA_API_KEY", "secret-key")
    with instance_for_test() as instance:
        result = materialize(
            [opendata_trip_export], instance=instance, partition_key="2025-03-01",
            resources=policy_resources(database=PlatformDatabase(url=str(sqlite_engine.url)), object_store=store),
        )
    metadata = result.asset_materializations_for_node("opendata_trip_export")[0].metadata
    assert metadata["dagster/row_count"].value == 12 and metadata["dropped_small_areas"].value == 6
    assert metadata["published"].value == "trips-2025-03.csv created, trips-2025-03.xlsx created"
    (check,) = result.get_asset_check_evaluations()
    assert check.passed and check.metadata["rows"].value == 12
    assert [info.key.rsplit("/", 1)[-1] for info in store.list("trip_exports/opendata/2025-03/")] == [
        "trips-2025-03.csv", "trips-2025-03.stats.json", "trips-2025-03.xlsx"]
    assert len(portal.resources) == 2
    (record,) = list_exports(sqlite_engine, REGISTRY_ADMIN)
    assert record.type == "opendata" and record.params == {"month": "2025-03"} and record.stats["published"] == 12


def test_the_anonymisation_check_reads_the_file_back(tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    header = ";".join(f'"{column.name}"' for column in OPENDATA_COLUMNS)
    cells = ['1', '"t"', '"2025-03-03T07:10:00+01:00"', '"2025-03-03"', '"07:10:00"', '4.835', '45.75', '"69123"', '"69"',
             '"Lyon"', '"M"', '"France"', '"2025-03-03T07:30:00+01:00"', '"2025-03-03"', '"07:30:00"', '4.88', '45.77',
             '"69266"', '"69"', '"Villeurbanne"', '"M"', '"France"', '1', '"C"', '8000', '20', '"true"']
    good.write_text(header + "\n" + ";".join(cells) + "\n", encoding="utf-8")
    assert verify_opendata_csv(good) == ([], {"rows": 1, "coordinates_with_2_decimals_or_fewer": 3})
    bad = tmp_path / "bad.csv"
    cells[4], cells[5] = '"07:11:00"', "4.83519"
    bad.write_text(header + "\n" + ";".join(cells) + "\n", encoding="utf-8")
    problems, _ = verify_opendata_csv(bad)
    assert problems == ["bad.csv:2: journey_start_time 07:11:00 is not on a 10-minute boundary",
                        "bad.csv:2: journey_start_lon 4.83519 has 5 decimals"]
