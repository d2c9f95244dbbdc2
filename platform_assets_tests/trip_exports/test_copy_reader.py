"""The COPY reader (rules in SQL, cells from text) against the Python reader, on rows made to hit
each rule's edge, then cell values worked out by hand from the COPY path's workbook."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import openpyxl
from sqlalchemy import Engine

from platform_assets.trip_exports.campaigns import Campaign, CampaignConfig
from platform_assets.trip_exports.columns import columns_for
from platform_assets.trip_exports.copy_reader import formatted_chunks_by_copy
from platform_assets.trip_exports.reader import export_rows
from platform_assets.trip_exports.scope import ExportScope
from platform_assets.trip_exports.workbook import formatted_chunks, write_formatted_trips_workbook
from platform_assets_tests.trip_exports.conftest import insert_trips, trip

PARAMS = {"start_date": "2025-03-01", "end_date": "2025-03-31"}
CAMPAIGNS = CampaignConfig.of([
    Campaign(7, "Lyon & co <2025>", date(2025, 3, 1), date(2025, 3, 31), frozenset({"256900994"}),
             frozenset({date(2025, 3, 3)})),
    Campaign(8, "Isère", date(2025, 3, 10), date(2025, 3, 20)),
])


def edge_trips() -> list[dict]:
    march_3 = datetime(2025, 3, 3, 7, 1, tzinfo=UTC)
    return [
        # 08:01 Paris -> 08:10; 45.7051 cut to 3 decimals is 45.705; integral 4.0 keeps its ".0"
        trip(1, "69123", "69266", start_datetime=march_3, start_lat=45.7051, start_lon=4.0,
             driver_revenue=300, passenger_contribution=1, incentive_rpc_1_campaign_id=7, incentive_rpc_1_amount=150),
        # 22:50 UTC on 2 March = 23:50 Paris, an exact multiple: stays; ends at Paris midnight (serial with no fraction)
        trip(2, "38514", "69123", start_datetime=datetime(2025, 3, 2, 22, 50, tzinfo=UTC),
             end_datetime=datetime(2025, 3, 2, 22, 59, 59, 999999, tzinfo=UTC),
             start_lon=-1.23456, start_lat=46.7099, incentive_1_campaign_id=8),
        # text to escape, a control character the writer drops, NULLs, an empty string, an unknown campaign
        trip(3, "69123", "38514", start_town="A & B <C>", end_town="tab\there\x01", operator_trip_id=None,
             driver_id="", driver_revenue=None, incentive_rpc_2_campaign_id=99, cee_application=True,
             start_datetime=datetime(2025, 3, 15, 9, 0, 0, 1, tzinfo=UTC), anomaly_status="error"),
        # 31 March 21:55 UTC = 23:55 Paris (summer time) -> 1 April 00:00, still in March's export
        trip(4, "69266", "69259", start_datetime=datetime(2025, 3, 31, 21, 55, tzinfo=UTC),
             end_datetime=datetime(2025, 3, 31, 22, 5, tzinfo=UTC), fraud_status="failed", passenger_contribution=-250),
    ]


def test_copy_reader_writes_the_python_readers_bytes(pg_engine: Engine) -> None:
    insert_trips(pg_engine, edge_trips())
    scope = ExportScope.from_params(PARAMS)
    for export_type in ("registry", "operator"):
        columns = columns_for(export_type)
        by_python = list(formatted_chunks(
            export_rows(pg_engine, PARAMS, export_type, CAMPAIGNS, "Europe/Paris", 2), columns, max_rows_per_sheet=3))
        by_copy = list(formatted_chunks_by_copy(pg_engine, scope, columns, CAMPAIGNS, "Europe/Paris", max_rows_per_sheet=3))
        # 2 rows a sheet: chunks of 2, 2 rows; the very same XML
        assert [count for _, count in by_copy] == [2, 2]
        assert by_copy == by_python

    # What the COPY path wrote, read back (hand-computed from the rows above).
    columns = columns_for("registry")
    out = io.BytesIO()
    write_formatted_trips_workbook(
        formatted_chunks_by_copy(pg_engine, scope, columns, CAMPAIGNS, "Europe/Paris"), columns, out)
    sheet = list(openpyxl.load_workbook(io.BytesIO(out.getvalue()))["Trips"].values)
    rows = {row["journey_id"]: row for row in (dict(zip(sheet[0], values, strict=True)) for values in sheet[1:])}
    assert list(rows) == [2, 1, 3, 4]  # start order
    one, two, three, four = rows[1], rows[2], rows[3], rows[4]
    assert (one["start_datetime"], one["start_time"], one["start_lat"], one["start_lon"]) == (
        datetime(2025, 3, 3, 8, 10), "08:10:00", 45.705, 4.0)
    assert (one["driver_revenue"], one["passenger_contribution"], one["incentive_rpc_1_amount"]) == (3.0, 0.01, 1.5)
    # Lyon's AOM campaign 7 has 3 March as booster day; the campaign name is looked up by id
    assert (one["incentive_type"], one["incentive_rpc_1_campaign_name"], one["status"]) == ("booster", "Lyon & co <2025>", "ok")
    # Tréminis is sparse: 2 decimals, toward zero; ends 23:59:59.999999 Paris on 2 March: rounds to 3 March 00:00
    assert (two["start_datetime"], two["start_lon"], two["start_lat"]) == (datetime(2025, 3, 2, 23, 50), -1.23, 46.7)
    assert (two["end_datetime"], two["end_date"], two["end_time"]) == (datetime(2025, 3, 3), datetime(2025, 3, 3), "00:00:00")
    # campaign 8 (its id) runs 10-20 March, not on 2 March; campaign 7 (Lyon's AOM, where it ends) runs all March
    assert two["incentive_type"] == "normal"
    assert (three["start_town"], three["end_town"], three["operator_trip_id"], three["driver_id"]) == (
        "A & B <C>", "tab\there", None, None)
    assert (three["driver_revenue"], three["incentive_rpc_2_campaign_name"], three["cee_application"]) == (None, None, True)
    # 09:00:00.000001 UTC = 10:00:00.000001 Paris -> 10:10; anomaly error
    assert (three["start_time"], three["status"], three["incentive_type"]) == ("10:10:00", "anomaly_error", "normal")
    assert (four["start_datetime"], four["start_date"], four["status"], four["passenger_contribution"]) == (
        datetime(2025, 4, 1), datetime(2025, 4, 1), "fraud_error", -2.5)
    assert (four["incentive_type"], four["end_time"]) == ("normal", "00:10:00")
    assert four["start_datetime"] - two["start_datetime"] == timedelta(days=29, minutes=10)


def test_a_coordinate_that_is_not_finite_is_refused(pg_engine: Engine) -> None:
    import pytest

    from platform_assets.lib.xlsx.writer import XlsxValueError

    insert_trips(pg_engine, [trip(1), trip(2, end_lat=float("inf"))])
    scope = ExportScope.from_params(PARAMS)
    with pytest.raises(XlsxValueError, match="sheet 'Trips' row 3 column 'end_lat' \\(float\\): Infinity is not a finite"):
        list(formatted_chunks_by_copy(pg_engine, scope, columns_for("registry"), CAMPAIGNS, "Europe/Paris"))
