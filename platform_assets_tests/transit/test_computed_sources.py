"""Computed data sources (Tartare's `input: computed` + a process's target_data_source_id): a
preprocess writes a new data set; the steps after it, the contributor export and the coverage
merge read it. Probe feeds built here; expectations worked out by hand."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from platform_assets.core.objectstore import LocalObjectStore
from platform_assets.lib.gtfs.reader import parse_table
from platform_assets.transit.catalog import parse_catalog
from platform_assets.transit.errors import CatalogError
from platform_assets.transit.service import export_contributor, export_coverage, stored_file
from platform_assets.transit.store import read_state, state_key
from platform_assets_tests.transit.probe import write_gtfs

STOPS = "stop_id,stop_name,stop_lat,stop_lon\nS1,One,48.1,2.1\nS2,Two,48.2,2.2\nS3,Unused,48.3,2.3\n"
TRIPS = "route_id,service_id,trip_id,direction_id\nR1,SV,T1,\nR1,SV,T2,\n"
STOP_TIMES = ("trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
              "T1,08:00:00,08:00:00,S1,1\nT1,08:10:00,08:10:00,S2,2\n"
              "T2,09:00:00,09:00:00,S2,1\nT2,09:10:00,09:10:00,S1,2\n")


def catalog_for(feed: Path, config: Path, **change: Any):  # type: ignore[no-untyped-def]
    contributor = {
        "id": "probe", "data_prefix": "P",
        "data_sources": [
            {"id": "gtfs", "input": {"type": "url", "url": str(feed)}},
            {"id": "dirs", "data_format": "direction_config", "input": {"type": "url", "url": str(config)}},
            {"id": "directed", "input": {"type": "computed"}},
        ],
        "preprocesses": [
            {"type": "ComputeDirections", "sequence": 1, "data_source_ids": ["dirs"], "target_data_source_id": "directed"},
            {"type": "RemoveUnusedStops", "sequence": 2},
        ],
        **change,
    }
    return parse_catalog({"contributors": [contributor], "coverages": [{"id": "cov", "contributors": ["probe"]}]}, "test")


def member(path: Path, name: str) -> dict[str, str]:
    """trip_id or stop_id -> direction_id (or stop name) of a zip's trips.txt / stops.txt."""
    with zipfile.ZipFile(path) as archive:
        table = parse_table(name, archive.read(name).decode("utf-8-sig"), name, [])
    key, value = ("trip_id", "direction_id") if name == "trips.txt" else ("stop_id", "stop_name")
    return {row[key]: row[value] for row in table.records()}


def test_a_preprocess_writes_a_computed_data_set_that_export_and_merge_read(tmp_path: Path) -> None:
    feed = write_gtfs(tmp_path / "served.zip", {"stops.txt": STOPS, "trips.txt": TRIPS, "stop_times.txt": STOP_TIMES})
    config = tmp_path / "dirs.json"
    config.write_text('{"R1": ["S1", "S2"]}', encoding="utf-8")
    catalog = catalog_for(feed, config)
    store = LocalObjectStore(local_dir=str(tmp_path / "objects"))
    today = date(2026, 1, 10)

    first = export_contributor(store, catalog, "probe", tmp_path / "w1", today)
    assert first.exported
    [data_set] = read_state(store, state_key("data_sources", "probe", "directed"))["versions"]
    stored = tmp_path / "directed.zip"
    store.download(data_set["keys"][0], stored)
    # The computed data set is ComputeDirections' output: T1 visits S1 then S2 (config order) -> 0,
    # T2 S2 then S1 -> 1; RemoveUnusedStops came after it, so S3 is still there.
    assert member(stored, "trips.txt") == {"T1": "0", "T2": "1"}
    assert sorted(member(stored, "stops.txt")) == ["S1", "S2", "S3"]
    # The export read the computed data set, then ran the next preprocess on it.
    export = tmp_path / "export1.zip"
    store.download(stored_file(store, "probe")[0], export)
    assert member(export, "trips.txt") == {"T1": "0", "T2": "1"}
    assert sorted(member(export, "stops.txt")) == ["S1", "S2"]
    assert {o.source_id: o.status for o in first.sources} == {"gtfs": "updated", "dirs": "updated", "directed": "updated"}
    assert store.uri(data_set["keys"][0]) in [obj.uri for obj in first.written]
    # Any step may fetch it like any data set (get-file --source directed).
    assert stored_file(store, "probe", source="directed")[1] == "directed.zip"

    # The coverage merge reads the contributor export: prefixed ids, computed directions.
    coverage = export_coverage(store, catalog, "cov", tmp_path / "c1", today)
    merged = tmp_path / "cov.zip"
    store.download(stored_file(store, "cov", coverage=True)[0], merged)
    assert coverage.exported and member(merged, "trips.txt") == {"P:T1": "0", "P:T2": "1"}

    # Forced again with the same inputs: the same computed data set, no new version.
    again = export_contributor(store, catalog, "probe", tmp_path / "w2", today, force=True)
    assert {o.source_id: o.status for o in again.sources}["directed"] == "unchanged"
    assert len(read_state(store, state_key("data_sources", "probe", "directed"))["versions"]) == 1

    # A new feed with a third trip makes a new computed version. T3 visits S2, S1, S2: S2 is first
    # visited before S1, so the one reference pair (S1, S2) is not in order: 0 of 1 forward -> 1.
    write_gtfs(feed, {"stops.txt": STOPS, "trips.txt": TRIPS + "R1,SV,T3,\n",
                      "stop_times.txt": STOP_TIMES + "T3,10:00:00,10:00:00,S2,1\nT3,10:10:00,10:10:00,S1,2\n"
                      "T3,10:20:00,10:20:00,S2,3\n"})
    third = export_contributor(store, catalog, "probe", tmp_path / "w3", today)
    versions = read_state(store, state_key("data_sources", "probe", "directed"))["versions"]
    assert third.exported and len(versions) == 2
    store.download(versions[-1]["keys"][0], stored)
    assert member(stored, "trips.txt") == {"T1": "0", "T2": "1", "T3": "1"}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"preprocesses": [{"type": "ComputeDirections", "data_source_ids": ["dirs"], "target_data_source_id": "gtfs"}]},
         "target_data_source_id: 'gtfs' must have input type 'computed' and data_format 'gtfs' "
         "\\(it has 'url', 'gtfs'\\)"),
        ({"preprocesses": [{"type": "ComputeDirections", "data_source_ids": ["dirs"], "target_data_source_id": "nope"}]},
         "target_data_source_id: no data source 'nope'"),
        ({"preprocesses": [{"type": "ComputeDirections", "data_source_ids": ["dirs"]}]},
         "computed data source 'directed' needs exactly one preprocess with target_data_source_id 'directed', found 0"),
    ],
)
def test_computed_source_catalog_errors(tmp_path: Path, change: dict[str, Any], expected: str) -> None:
    with pytest.raises(CatalogError, match=f"test: contributors\\[0\\]: .*{expected}"):
        catalog_for(tmp_path / "f.zip", tmp_path / "d.json", **change)
