"""End to end on real parts: PostgreSQL trips -> sensor claim -> `trip_export` run -> zip on moto S3
-> presigned link -> emails on aiosmtpd; the downloaded XLSX holds exactly the expected rows."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import requests
from dagster import DagsterInstance, build_sensor_context, instance_for_test, materialize
from dagster_aws.s3 import S3Resource
from python_calamine import CalamineWorkbook
from sqlalchemy import Engine, event

from platform_assets.core.alerts import PlatformInfo
from platform_assets.core.database import PlatformDatabase
from platform_assets.core.mailer import Mailer
from platform_assets.core.objectstore import ObjectStore, S3ObjectStore
from platform_assets.core.settings import configure
from platform_assets.core.tags import SUBJECT_TAG
from platform_assets.trip_exports.assets import trip_export
from platform_assets.trip_exports.campaigns import CampaignConfig, load_campaign_config
from platform_assets.trip_exports.columns import columns_for
from platform_assets.trip_exports.generator import load_trips
from platform_assets.trip_exports.resources import TripExportPolicy
from platform_assets.trip_exports.run import run_export
from platform_assets.trip_exports.sensors import trip_export_sensor
from platform_assets.trip_exports.service import ExportRequest, create_export, get_export
from platform_assets_tests.servers import SmtpServer
from platform_assets_tests.trip_exports.conftest import (
    MONTH_START,
    OPERATOR_1_ADMIN,
    REGISTRY_ADMIN,
    RULES,
    TODAY,
    insert_trips,
    policy_resources,
    trip,
)


def hand_trips() -> tuple[list[dict[str, Any]], list[int]]:
    """Trips of several operators and places; returns them and the journey ids operator 1 in the
    Lyon AOM should get for March 2025."""
    rows = []
    expected = []
    for journey_id in range(1, 13):  # operator 1, Lyon -> Villeurbanne: exported
        rows.append(trip(journey_id, "69123", "69266"))
        expected.append(journey_id)
    rows.append(trip(13, "38185", "69123"))  # operator 1, Grenoble -> Lyon: ends in the AOM: exported
    expected.append(13)
    rows.append(trip(14, "69123", "69266", operator_id=2, operator_name="BlaBlaCar Daily"))  # other operator
    rows.append(trip(15, "75056", "93048"))  # operator 1 in Paris: outside the selector
    # 28 February 22:59 UTC = 23:59 in Paris: February (periods are Paris days).
    rows.append(trip(16, "69123", "69266", start_datetime=MONTH_START - timedelta(minutes=61)))
    return rows, expected


@pytest.fixture
def resources(platform_env: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str, pg_engine: Engine,
              s3_endpoint: str, s3_bucket: str, smtp: SmtpServer) -> dict[str, Any]:
    monkeypatch.setenv("PLATFORM_TRIP_EXPORT_ADMIN_EMAILS", "tech@registry.example")
    return {
        "database": PlatformDatabase(url=postgres_url),
        "object_store": S3ObjectStore(bucket=s3_bucket, s3=S3Resource(endpoint_url=s3_endpoint, region_name="us-east-1")
        ),
        "mailer": Mailer(smtp_url=smtp.url, sender="exports@registry.example"),
        "platform": PlatformInfo(deployment="test", alert_emails_text="ops@registry.example"),
        "trip_exports": configure(TripExportPolicy),
    }


def read_zip_workbook(data: bytes) -> tuple[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        (name,) = archive.namelist()
        return name, archive.read(name)


def test_sensor_run_s3_link_and_emails(resources: dict[str, Any], pg_engine: Engine, smtp: SmtpServer) -> None:
    rows, expected = hand_trips()
    insert_trips(pg_engine, rows)
    view = create_export(
        pg_engine, OPERATOR_1_ADMIN,
        ExportRequest("2025-03-01", "2025-03-31", geo_selector={"aom": ["256900994"]},
                      recipients=["Ana Lopez <ana@op1.example>", "Chen, Bo <bo@op1.example>"]),
        RULES, today=TODAY,
    )
    with instance_for_test() as instance:
        context = build_sensor_context(instance=instance, resources=policy_resources(database=resources["database"]))
        result = trip_export_sensor(context)
        assert [request.run_key for request in result.run_requests] == [view.uuid]
        assert result.run_requests[0].partition_key == view.uuid
        assert result.run_requests[0].tags[SUBJECT_TAG] == view.uuid
        assert list(result.dynamic_partitions_requests[0].partition_keys) == [view.uuid]
        # A second tick asks for nothing new. The sensor claims nothing: the export waits, pending,
        # for its run, which is the only claimer.
        second = trip_export_sensor(
            build_sensor_context(instance=instance, resources=policy_resources(database=resources["database"]), cursor=result.cursor)
        )
        assert not second.run_requests and second.skip_reason is not None
        assert get_export(pg_engine, OPERATOR_1_ADMIN, view.uuid).status == "pending"

        run = materialize_export(instance, resources, view.uuid)
        metadata = run.asset_materializations_for_node("trip_export")[0].metadata
    assert metadata["dagster/row_count"].value == len(expected)
    done = get_export(pg_engine, OPERATOR_1_ADMIN, view.uuid)
    assert done.status == "success" and done.progress == 100 and done.error is None
    assert done.stats["rows"] == len(expected) and done.stats["bytes"] == metadata["size"].value
    assert [log[1] for log in done.logs] == ["created", "processing", "query", "uploading", "sending", "mailed", "mailed", "success"]
    assert metadata["link"].value == done.download_url

    # The presigned link downloads the zip; its XLSX holds exactly the expected rows and columns.
    response = requests.get(done.download_url, timeout=10)
    assert response.status_code == 200
    name, xlsx = read_zip_workbook(response.content)
    assert name.endswith(".xlsx")
    # Full mode pads each row to the header (the last columns, registry incentives, are often blank).
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx))
    assert workbook.sheetnames == ["Trips", "Help"]
    sheet_rows = list(workbook["Trips"].values)
    header = [column.name for column in columns_for("operator")]
    assert list(sheet_rows[0]) == header and "operator" not in header
    data = [dict(zip(header, row, strict=True)) for row in sheet_rows[1:]]
    assert sorted(row["journey_id"] for row in data) == expected
    first = next(row for row in data if row["journey_id"] == 1)
    # 2025-03-03 07:01 UTC is 08:01 in Paris (winter time), rounded up to 08:10; numbers stay numbers.
    assert first["start_datetime"] == datetime(2025, 3, 3, 8, 10)
    assert first["passenger_contribution"] == 1.5 and first["distance"] == 8000
    assert first["start_insee"] == "69123" and first["start_epci"] == "Métropole de Lyon"
    assert first["incentive_type"] == "normal"  # Sytral campaign active in March 2025, no booster day
    calamine = CalamineWorkbook.from_filelike(io.BytesIO(xlsx)).get_sheet_by_name("Trips").to_python()
    assert calamine[0] == header and len(calamine) == len(expected) + 1
    help_rows = list(workbook["Help"].values)
    assert ("journey_id", "integer", "registry id of the passenger journey") in help_rows

    mails = smtp.wait_for(2)
    assert sorted(address for mail in mails for address in mail.recipients) == ["ana@op1.example", "bo@op1.example"]
    for mail in mails:  # French by default, a plain-text part and an HTML part
        assert mail.message["Subject"] == f"[test] Votre export de trajets est prêt ({len(expected)} trajets)"
        body = mail.message.get_body(("plain",)).get_content()
        assert done.download_url in body.replace("=\n", "")
        assert f"Trajets : {len(expected)}" in body
        html = mail.message.get_body(("html",)).get_content()
        assert f'href="{escape(done.download_url)}"' in html


def materialize_export(instance: DagsterInstance, resources: dict[str, Any], export_uuid: str) -> Any:
    instance.add_dynamic_partitions("trip_export", [export_uuid])
    return materialize(
        [trip_export], instance=instance, resources=resources, partition_key=export_uuid,
        tags={SUBJECT_TAG: export_uuid},
    )


def test_progress_is_written_at_least_every_5_percent(sqlite_engine: Engine, store: ObjectStore,
                                                       outbox_mailer: Mailer, platform_env: Path) -> None:
    insert_trips(sqlite_engine, [trip(journey_id, "69123", "75056") for journey_id in range(1, 201)])
    view = create_export(sqlite_engine, REGISTRY_ADMIN, ExportRequest("2025-03-01", "2025-03-31"), RULES, today=TODAY)
    progress: list[int] = []

    def record(_conn, _cursor, statement: str, parameters: Any, _context, _many) -> None:  # type: ignore[no-untyped-def]
        if statement.startswith("UPDATE exports SET updated_at=?, progress=? WHERE"):
            progress.append(parameters[1])

    event.listen(sqlite_engine, "before_cursor_execute", record)
    try:
        outcome = run_export(sqlite_engine, view.uuid, store, outbox_mailer,
                             load_campaign_config(configure(TripExportPolicy, resolve=True).campaign_config), RULES, batch_size=17)
    finally:
        event.remove(sqlite_engine, "before_cursor_execute", record)
    assert outcome.rows == 200
    assert progress == [step * 90 // 100 for step in range(5, 101, 5)]
    assert get_export(sqlite_engine, REGISTRY_ADMIN, view.uuid).progress == 100


def test_rows_past_the_sheet_limit_continue_on_new_sheets(sqlite_engine: Engine, store: ObjectStore,
                                                           outbox_mailer: Mailer) -> None:
    insert_trips(sqlite_engine, [trip(journey_id) for journey_id in range(1, 8)])
    view = create_export(sqlite_engine, REGISTRY_ADMIN, ExportRequest("2025-03-01", "2025-03-31"), RULES, today=TODAY)
    outcome = run_export(sqlite_engine, view.uuid, store, outbox_mailer, CampaignConfig(), RULES, max_rows_per_sheet=4)
    assert outcome.sheets == ("Trips", "Trips 2", "Trips 3")
    _, xlsx = read_zip_workbook(store.read_bytes(outcome.stored.key))
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx), read_only=True)
    ids = [row[0] for title in outcome.sheets for row in list(workbook[title].values)[1:]]
    assert ids == [1, 2, 3, 4, 5, 6, 7]
    assert get_export(sqlite_engine, REGISTRY_ADMIN, view.uuid).stats["sheets"] == ["Trips", "Trips 2", "Trips 3"]


def test_export_zip_reads_back_identically_with_openpyxl_and_calamine(
    pg_engine: Engine, store: ObjectStore, outbox_mailer: Mailer, platform_env: Path
) -> None:
    """Generated trips (blanks, incentives, money) from PostgreSQL through the real run: the zip's
    workbook comes from the streaming writer and both readers agree cell for cell, with datetimes
    as datetimes, numbers as numbers and text as text."""
    load_trips(pg_engine, 300, date(2025, 3, 1), date(2025, 4, 1), seed=7)
    view = create_export(pg_engine, REGISTRY_ADMIN, ExportRequest("2025-03-01", "2025-03-31"), RULES, today=TODAY)
    outcome = run_export(pg_engine, view.uuid, store, outbox_mailer,
                         load_campaign_config(configure(TripExportPolicy, resolve=True).campaign_config), RULES, batch_size=64)
    with pg_engine.connect() as connection:  # independent oracle: processed trips of March, Paris days
        expected = connection.exec_driver_sql(
            "SELECT count(*) FROM trips WHERE acquisition_status = 'processed' "
            "AND start_datetime >= '2025-03-01 00:00:00+01' AND start_datetime < '2025-04-01 00:00:00+02'"
        ).scalar_one()
    assert 250 < outcome.rows == expected < 300
    with zipfile.ZipFile(io.BytesIO(store.read_bytes(outcome.stored.key))) as archive:
        (entry,) = archive.infolist()
        assert entry.filename.endswith(".xlsx") and entry.compress_type == zipfile.ZIP_STORED
        xlsx = archive.read(entry)
    with zipfile.ZipFile(io.BytesIO(xlsx)) as package:  # written by StreamingXlsxWriter, not openpyxl
        assert b"<Application>platform_assets</Application>" in package.read("docProps/app.xml")

    columns = columns_for("registry")
    header = [column.name for column in columns]
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx))  # full mode: rows padded to the header
    calamine = CalamineWorkbook.from_filelike(io.BytesIO(xlsx))
    assert workbook.sheetnames == calamine.sheet_names == ["Trips", "Help"]
    by_openpyxl = [list(row) for row in workbook["Trips"].values]
    by_calamine = calamine.get_sheet_by_name("Trips").to_python()
    assert by_openpyxl[0] == by_calamine[0] == header
    assert len(by_openpyxl) == len(by_calamine) == expected + 1
    # openpyxl reads date cells as midnight datetimes; time columns are text HH:MM:SS.
    kinds = {"integer": int, "number": (int, float), "datetime": datetime, "date": datetime, "text": str,
             "time": str, "boolean": bool}
    seen = {column.type: 0 for column in columns}
    for row_openpyxl, row_calamine in zip(by_openpyxl[1:], by_calamine[1:], strict=True):
        for column, mine, theirs in zip(columns, row_openpyxl, row_calamine, strict=True):
            if mine is None:
                assert theirs == "", column.name  # calamine shows blanks as ""
                continue
            seen[column.type] += 1
            assert isinstance(mine, kinds[column.type]), (column.name, mine)
            assert isinstance(mine, bool) == (column.type == "boolean"), (column.name, mine)
            midnight = isinstance(mine, datetime) and mine.time() == datetime.min.time()
            if column.type == "date" or midnight:  # calamine gives a date for a midnight, openpyxl a datetime
                assert type(theirs) is date and mine == datetime.combine(theirs, datetime.min.time()), column.name
            elif column.type == "integer":  # calamine hands every number back as a float
                assert isinstance(theirs, float) and theirs == mine, (column.name, mine, theirs)
            else:
                assert type(theirs) is type(mine) or isinstance(mine, int | float) and isinstance(theirs, float)
                assert theirs == mine, (column.name, mine, theirs)
    assert all(seen.values()), seen  # every column type held values
    first = by_openpyxl[1]
    assert first[header.index("start_datetime")] < first[header.index("end_datetime")]
    help_openpyxl = [[value for value in row] for row in workbook["Help"].values]
    help_calamine = [[value if value != "" else None for value in row]
                     for row in calamine.get_sheet_by_name("Help").to_python()]
    assert help_openpyxl == help_calamine
    assert ["start_datetime", "datetime", "start of the journey, export's time zone, rounded up to 10 minutes"] in help_openpyxl
