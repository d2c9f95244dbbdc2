"""The pandera helper on real GTFS tables read with pandas from the shared feeds."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from platform_assets.lib.quality.pandera_checks import pandera_results
from platform_assets.lib.quality.result import CheckResult, Level, Outcome

STOPS = pa.DataFrameSchema(
    {
        "stop_id": pa.Column(str, unique=True),
        "stop_name": pa.Column(str),
        "stop_lat": pa.Column(float, pa.Check.in_range(-90, 90), coerce=True),
        "stop_lon": pa.Column(float, pa.Check.in_range(-180, 180), coerce=True),
        "stop_url": pa.Column(str, pa.Check.str_matches(r"^https?://"), nullable=True, required=False),
    },
    name="stops",
)
AGENCY = pa.DataFrameSchema(
    {
        "agency_id": pa.Column(str, nullable=True, required=False),
        "agency_name": pa.Column(str),
        "agency_url": pa.Column(str, pa.Check.str_matches(r"^https?://")),
        "agency_timezone": pa.Column(str),
    },
    name="agency",
)


def read_table(feed: Path, name: str) -> pd.DataFrame:
    with zipfile.ZipFile(feed) as archive:
        member = next(n for n in archive.namelist() if n.endswith(name))
        with archive.open(member) as stream:
            return pd.read_csv(stream, dtype=str, keep_default_na=True)


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {result.name: result for result in results}


def test_valid_stops_pass(shared_data: Path) -> None:
    stops = read_table(shared_data / "gtfs" / "google-sample-feed-1.zip", "stops.txt")
    results = by_name(pandera_results(STOPS, stops, id_column="stop_id"))
    # 9 stops, all inside lat/lon ranges, ids unique; stop_url is empty on every row (n/a).
    assert (results["stops.stop_lat.in_range(-90, 90)"].passed, results["stops.stop_lat.in_range(-90, 90)"].failed) == (9, 0)
    assert results["stops.stop_id.unique"].level == Level.DATASET and results["stops.stop_id.unique"].passed == 9
    assert results["stops.stop_url.str_matches('^https?://')"].not_applicable == 9
    assert all(result.ok for result in results.values())


def test_broken_values_fail_with_examples(shared_data: Path) -> None:
    stops = read_table(shared_data / "gtfs" / "google-sample-feed-1.zip", "stops.txt")
    stops.loc[stops["stop_id"] == "AMV", "stop_lat"] = "95.5"
    stops.loc[stops["stop_id"] == "EMSI", "stop_id"] = "NADAV"
    results = by_name(pandera_results(STOPS, stops, id_column="stop_id"))
    lat = results["stops.stop_lat.in_range(-90, 90)"]
    assert (lat.passed, lat.failed) == (8, 1)
    assert lat.examples[Outcome.FAILED] == [{"item": "AMV", "column": "stop_lat", "check": "in_range(-90, 90)", "value": 95.5}]
    unique = results["stops.stop_id.unique"]
    assert (unique.passed, unique.failed) == (7, 2)


def test_values_that_do_not_coerce_are_dtype_failures(shared_data: Path) -> None:
    stops = read_table(shared_data / "gtfs" / "google-sample-feed-1.zip", "stops.txt")
    stops.loc[stops["stop_id"] == "BULLFROG", "stop_lon"] = "east"
    results = by_name(pandera_results(STOPS, stops, id_column="stop_id"))
    dtype = results["stops.stop_lon.dtype"]
    assert (dtype.passed, dtype.failed) == (8, 1)
    assert dtype.examples[Outcome.FAILED] == [{"item": "BULLFROG", "column": "stop_lon", "check": "dtype", "value": "east"}]


def test_missing_required_column_is_a_failure_not_a_crash(shared_data: Path) -> None:
    agency = read_table(shared_data / "gtfs" / "broken" / "transitfeed-missing_column.zip", "agency.txt")
    results = by_name(pandera_results(AGENCY, agency))
    present = results["agency.agency_name.present"]
    assert (present.passed, present.failed) == (0, 1)
    assert present.examples[Outcome.FAILED][0]["item"] == "agency:2"  # CSV line 2
    assert results["agency.agency_name.not_nullable"].not_applicable == 1
    assert results["agency.agency_url.str_matches('^https?://')"].passed == 1


def test_chunks_give_the_same_results_as_one_frame(shared_data: Path) -> None:
    stop_times = read_table(shared_data / "gtfs" / "cairns_gtfs.zip", "stop_times.txt").head(3000)
    stop_times["row_key"] = stop_times["trip_id"] + ":" + stop_times["stop_sequence"]
    stop_times.loc[[5, 2500], "row_key"] = "duplicate"
    schema = pa.DataFrameSchema(
        {
            "row_key": pa.Column(str, unique=True),
            "stop_sequence": pa.Column(int, pa.Check.ge(0), coerce=True),
            "arrival_time": pa.Column(str, pa.Check.str_matches(r"^\d{1,3}:[0-5]\d:[0-5]\d$"), nullable=True),
        },
        name="stop_times",
    )
    whole = by_name(pandera_results(schema, stop_times))
    chunked = by_name(pandera_results(schema, (stop_times.iloc[i : i + 700] for i in range(0, 3000, 700)), table="stop_times"))
    assert set(whole) == set(chunked)
    for name in whole:
        assert (whole[name].passed, whole[name].failed, whole[name].not_applicable) == (
            chunked[name].passed, chunked[name].failed, chunked[name].not_applicable,
        ), name
    assert whole["stop_times.row_key.unique"].failed == 2


def test_foreign_keys_between_gtfs_tables(shared_data: Path) -> None:
    from platform_assets.lib.quality.batch import frame_batches
    from platform_assets.lib.quality.dataset.foreign_key import foreign_key
    from platform_assets.lib.quality.runner import run_checks

    feed = shared_data / "gtfs" / "google-sample-feed-1.zip"
    stops = read_table(feed, "stops.txt")
    stop_times = read_table(feed, "stop_times.txt")
    rows = len(stop_times)
    stop_times.loc[3, "stop_id"] = "NOWHERE"
    stop_times.loc[4, "stop_id"] = None
    check = foreign_key("stop_id", stops["stop_id"], "stops.stop_id", name="stop_times.stop_id.foreign_key")
    (result,) = run_checks([check], frame_batches(stop_times, 10, name="stop_times"))
    # One unknown stop and one empty stop_id among the feed's stop_times rows.
    assert (result.passed, result.failed, result.not_applicable) == (rows - 2, 1, 1)
    assert result.examples[Outcome.FAILED] == [{"item": "stop_times:5", "path": "stop_id", "value": "NOWHERE"}]  # CSV line 5
