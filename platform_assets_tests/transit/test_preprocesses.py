"""Each preprocess against Tartare's reference inputs and outputs, and its parameter validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from platform_assets.lib.gtfs.reader import parse_table, read_feed
from platform_assets.transit.errors import FeedError, PreprocessError
from platform_assets.transit.merge import merge_feeds
from platform_assets.transit.preprocesses import PreprocessContext, build_preprocess


@pytest.fixture
def ref(shared_data: Path) -> Path:
    return shared_data / "gtfs/preprocesses"


def reference_table(path: Path):  # type: ignore[no-untyped-def]
    return parse_table(path.name, path.read_text(encoding="utf-8"), str(path), [])


@pytest.mark.parametrize(
    ("feed", "expected"),
    [
        ("functional.zip", "ref_functional.zip"),
        ("unsorted_stop_sequences.zip", "expected_trips.txt"),
        ("missing_column.zip", "expected_trips_missing_column.txt"),
    ],
)
def test_compute_directions(ref: Path, feed: str, expected: str) -> None:
    folder = ref / "compute_directions"
    context = PreprocessContext({"directions": folder / "config.json"})
    result = build_preprocess("ComputeDirections", {}, ["directions"]).apply(read_feed(folder / feed), context)
    wanted = (
        read_feed(folder / expected).require("trips.txt") if expected.endswith(".zip") else reference_table(folder / expected)
    )
    trips = result.require("trips.txt")
    assert (trips.header, trips.rows) == (wanted.header, wanted.rows)


def test_compute_directions_needs_its_config(ref: Path) -> None:
    with pytest.raises(PreprocessError, match="ComputeDirections: needs a configuration data source"):
        build_preprocess("ComputeDirections", {}, []).apply(
            read_feed(ref / "compute_directions/functional.zip"), PreprocessContext()
        )


def test_headsign_short_name(ref: Path) -> None:
    folder = ref / "headsign_short_name"
    result = build_preprocess("HeadsignShortName", {}, []).apply(read_feed(folder / "headsign_short_name.zip"), PreprocessContext())
    wanted = reference_table(folder / "ref_trips.txt")
    assert result.require("trips.txt").rows == wanted.rows
    without = build_preprocess("HeadsignShortName", {}, []).apply(
        read_feed(folder / "headsign_short_name_without_trip_short_name.zip"), PreprocessContext()
    )
    assert without.require("trips.txt").has("trip_short_name")
    with pytest.raises(PreprocessError, match="routes.txt is missing"):
        build_preprocess("HeadsignShortName", {}, []).apply(
            read_feed(folder / "headsign_short_name_missing_routes.zip"), PreprocessContext()
        )


def test_ruspell_matches_reference(ref: Path) -> None:
    folder = ref / "ruspell"
    logged: list[str] = []
    context = PreprocessContext({"rules": folder / "config-fr_idf.yml"}, logged.append)
    result = build_preprocess("Ruspell", {}, ["rules"]).apply(read_feed(folder / "gtfs.zip"), context)
    assert result.require("stops.txt").rows == read_feed(folder / "ref_gtfs.zip").require("stops.txt").rows
    assert any("IspellCheck skipped" in line for line in logged)


def test_ruspell_bad_rules_file(ref: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text("processes:\n  - RegexReplace: {from: '(', to: 'x'}\n", encoding="utf-8")
    with pytest.raises(PreprocessError, match=r"rules.yml: processes\[0\] RegexReplace"):
        build_preprocess("Ruspell", {}, ["rules"]).apply(
            read_feed(ref / "ruspell/gtfs.zip"), PreprocessContext({"rules": rules})
        )


@pytest.mark.parametrize(
    "feed", ["gtfs_without_agency_file.zip", "gtfs_header_only_in_agency_file.zip", "gtfs_with_no_agency_id.zip"]
)
def test_agency_file_created_or_filled(ref: Path, feed: str) -> None:
    preprocess = build_preprocess(
        "GtfsAgencyFile", {"agency_id": "112", "agency_name": "Aérocar", "agency_timezone": "Europe/Paris"}, []
    )
    result = preprocess.apply(read_feed(ref / "agency" / feed), PreprocessContext())
    agency = result.require("agency.txt")
    assert len(agency.rows) == 1
    record = next(agency.records())
    assert record["agency_id"] in ("112",) and record["agency_name"] in ("Aérocar", "AEROCAR")
    assert set(result.require("routes.txt").values("agency_id")) <= {"112", "17"}


def test_agency_file_refuses_two_agencies(ref: Path) -> None:
    with pytest.raises(PreprocessError, match="agency.txt has 2 agencies"):
        build_preprocess("GtfsAgencyFile", {}, []).apply(
            read_feed(ref / "agency/gtfs_with_two_agencies.zip"), PreprocessContext()
        )


def test_params_are_validated() -> None:
    with pytest.raises(PreprocessError, match=r"contributor c: GtfsAgencyFile: params.agency_colour: Extra inputs"):
        build_preprocess("GtfsAgencyFile", {"agency_colour": "red"}, [], "contributor c")
    with pytest.raises(PreprocessError, match=r"GtfsAgencyFile: params.agency_name: Input should be a valid string"):
        build_preprocess("GtfsAgencyFile", {"agency_name": ["x"]}, [])
    with pytest.raises(PreprocessError, match="unknown preprocess 'Teleport'"):
        build_preprocess("Teleport", {}, [])


def test_remove_unused_stops(shared_data: Path) -> None:
    feed = read_feed(shared_data / "gtfs/partridge-caltrain-2017-07-24.zip")
    before = len(feed.require("stops.txt").rows)
    result = build_preprocess("RemoveUnusedStops", {}, []).apply(feed, PreprocessContext())
    used = set(result.require("stop_times.txt").values("stop_id"))
    stops = result.require("stops.txt")
    kept_points = [r for r in stops.records() if r.get("location_type", "") in ("", "0")]
    assert {r["stop_id"] for r in kept_points} <= used | set(result.table("transfers.txt").values("from_stop_id") if result.table("transfers.txt") else [])
    assert len(stops.rows) <= before


def test_merge_prefixes_every_id(shared_data: Path) -> None:
    a = read_feed(shared_data / "gtfs/google-sample-feed-1.zip")
    b = read_feed(shared_data / "gtfs/sample_gtfs_2.zip")
    merged = merge_feeds([("A", a), ("B", b)], "cov")
    stop_ids = merged.require("stops.txt").values("stop_id")
    assert len(stop_ids) == len(set(stop_ids)) == 18
    assert all(s.startswith(("A:", "B:")) for s in stop_ids)
    assert set(merged.require("stop_times.txt").values("stop_id")) <= set(stop_ids)
    assert set(merged.require("trips.txt").values("service_id")) <= set(merged.require("calendar.txt").values("service_id"))
    assert len(set(merged.require("agency.txt").values("agency_id"))) == 2


def test_merge_gives_an_agency_id_when_missing(shared_data: Path) -> None:
    cairns = read_feed(shared_data / "gtfs/cairns_gtfs.zip")
    merged = merge_feeds([("CNS", cairns)], "cov")
    assert merged.require("agency.txt").values("agency_id") == ["CNS:agency"]
    assert set(merged.require("routes.txt").values("agency_id")) == {"CNS:agency"}
    with pytest.raises(FeedError):
        merged.require("feed_info.txt")


def test_routes_without_agency_id_point_to_their_lone_agency_once_merged(shared_data: Path, tmp_path: Path) -> None:
    """Caltrain names its agency but leaves routes' agency_id empty: legal alone, broken once merged."""
    from platform_assets.transit.merge import stream_merge

    caltrain = shared_data / "gtfs/partridge-caltrain-2017-07-24.zip"
    sample = shared_data / "gtfs/google-sample-feed-1.zip"
    assert not read_feed(caltrain).require("routes.txt").has("agency_id")

    merged = merge_feeds([("CT", read_feed(caltrain)), ("S", read_feed(sample))], "cov")
    agencies = set(merged.require("agency.txt").values("agency_id"))
    assert set(merged.require("routes.txt").values("agency_id")) <= agencies
    assert "CT:caltrain-ca-us" in set(merged.require("routes.txt").values("agency_id"))

    destination = tmp_path / "merged.zip"
    stream_merge([("CT", caltrain), ("S", sample)], destination)
    streamed = read_feed(destination)
    assert set(streamed.require("routes.txt").values("agency_id")) <= set(streamed.require("agency.txt").values("agency_id"))
    assert "CT:caltrain-ca-us" in set(streamed.require("routes.txt").values("agency_id"))
