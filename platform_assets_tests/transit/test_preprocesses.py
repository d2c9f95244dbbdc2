"""Each preprocess against Tartare's reference inputs and outputs, and its parameter validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from platform_assets.lib.gtfs.reader import parse_table, read_feed
from platform_assets.transit.errors import FeedError, PreprocessError
from platform_assets.transit.merge import merge_feeds
from platform_assets.transit.preprocesses import PreprocessContext, build_preprocess
from platform_assets_tests.transit.probe import write_gtfs


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


def test_compute_directions_majority_of_consecutive_pairs(tmp_path: Path) -> None:
    """Tartare's rule: count consecutive reference pairs visited in order; fewer than half -> 1."""
    stop_times = "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
    visits = {
        "loop": ["B", "C", "D", "E", "A"],  # pairs A>B no, B>C, C>D, D>E yes: 3 of 4 forward -> 0
        "back": ["E", "D", "C", "B", "A"],  # 0 of 4 forward -> 1
        "one": ["A", "X"],  # one reference stop: unchanged (stays empty)
        "tie": ["A", "C", "B"],  # A>B yes, B>C no: 1 of 2 is not fewer than half -> 0
        "other": ["A", "B"],  # route R2 is not configured: unchanged
    }
    for trip, stops in visits.items():
        # stop_sequence given in reverse file order: the trip order comes from stop_sequence.
        for sequence, stop in reversed(list(enumerate(stops, start=1))):
            stop_times += f"{trip},08:00:00,08:00:00,{stop},{sequence * 10}\n"
    feed = write_gtfs(tmp_path / "probe.zip", {
        "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\n" + "".join(f"{s},{s},48,2\n" for s in "ABCDEX"),
        "routes.txt": "route_id,route_type\nR1,3\nR2,3\n",
        "trips.txt": "route_id,service_id,trip_id,direction_id\nR1,SV,loop,1\nR1,SV,back,0\nR1,SV,one,\n"
                     "R1,SV,tie,1\nR2,SV,other,1\n",
        "stop_times.txt": stop_times,
    })
    config = tmp_path / "directions.json"
    config.write_text('{"R1": ["A", "B", "C", "D", "E"]}', encoding="utf-8")
    result = build_preprocess("ComputeDirections", {}, ["directions"]).apply(
        read_feed(feed), PreprocessContext({"directions": config})
    )
    trips = result.require("trips.txt")
    assert {r["trip_id"]: r["direction_id"] for r in trips.records()} == {
        "loop": "0", "back": "1", "one": "", "tie": "0", "other": "1"
    }


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
    # Tartare's job error for this fixture: 'error in file "trips.txt": column "trip_short_name" missing'.
    with pytest.raises(PreprocessError, match='HeadsignShortName: error in file "trips.txt": column "trip_short_name" missing'):
        build_preprocess("HeadsignShortName", {}, []).apply(
            read_feed(folder / "headsign_short_name_without_trip_short_name.zip"), PreprocessContext()
        )
    with pytest.raises(PreprocessError, match="routes.txt is missing"):
        build_preprocess("HeadsignShortName", {}, []).apply(
            read_feed(folder / "headsign_short_name_missing_routes.zip"), PreprocessContext()
        )


def test_headsign_short_name_follows_route_type_and_ter_prefix_not_digits(tmp_path: Path) -> None:
    """Per Tartare: metro (1) -> empty; rail (2) with route_id 800:TER... -> headsign; others keep theirs."""
    feed = write_gtfs(tmp_path / "probe.zip", {
        "routes.txt": "route_id,route_type\nM1,1\n800:TER:X,2\n800:K,2\nBUS,3\nTRAM,0\n",
        "trips.txt": "route_id,service_id,trip_id,trip_headsign,trip_short_name\n"
                     "M1,SV,m,Chateau,123\n"
                     "800:TER:X,SV,ter,Paris,ABC\n"
                     "800:K,SV,k,Lille,12345\n"
                     "BUS,SV,bus,Gare,42\n"
                     "TRAM,SV,tram,Centre,T9\n"
                     "GHOST,SV,ghost,Nowhere,7\n",
    })
    trips = build_preprocess("HeadsignShortName", {}, []).apply(read_feed(feed), PreprocessContext()).require("trips.txt")
    assert [(r["trip_id"], r["trip_short_name"], r["trip_headsign"]) for r in trips.records()] == [
        ("m", "", ""),
        ("ter", "Paris", ""),
        ("k", "12345", ""),
        ("bus", "42", ""),
        ("tram", "T9", ""),
        ("ghost", "7", ""),
    ]


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


AGENCY_COLUMNS = ["agency_id", "agency_name", "agency_url", "agency_timezone", "agency_lang", "agency_phone",
                  "agency_email", "agency_fare_url"]


@pytest.mark.parametrize(
    ("feed", "params", "expected"),
    [
        # Tartare's contributor_processes_test.py cases, same fixtures, same expected agency.txt values.
        ("gtfs_without_agency_file.zip", {"agency_id": "112"},
         {"agency_id": "112", "agency_name": "", "agency_url": "https://www.navitia.io/", "agency_timezone": "Europe/Paris"}),
        ("gtfs_header_only_in_agency_file.zip",
         {"agency_id": "112", "agency_name": "stif", "agency_timezone": "Europe/Paris",
          "agency_email": "agency@email.com", "agency_phone": "0612345678"},
         {"agency_id": "112", "agency_name": "stif", "agency_url": "https://www.navitia.io/",
          "agency_timezone": "Europe/Paris", "agency_email": "agency@email.com", "agency_phone": "0612345678"}),
        # The params override the file's values (agency_url here), the file fills the rest.
        ("gtfs_with_no_agency_id.zip", {"agency_id": "112", "agency_url": "http://an.url.com"},
         {"agency_id": "112", "agency_name": "AEROCAR", "agency_url": "http://an.url.com",
          "agency_timezone": "Europe/Madrid", "agency_email": "agency@email.com", "agency_lang": "",
          "agency_fare_url": ""}),
    ],
)
def test_agency_file_params_override_the_file(ref: Path, feed: str, params: dict[str, str], expected: dict[str, str]) -> None:
    result = build_preprocess("GtfsAgencyFile", params, []).apply(read_feed(ref / "agency" / feed), PreprocessContext())
    agency = result.require("agency.txt")
    assert agency.header == AGENCY_COLUMNS and len(agency.rows) == 1
    record = next(agency.records())
    assert {key: record[key] for key in expected} == expected
    assert set(result.require("routes.txt").values("agency_id")) == {"17"}  # routes keep their own agency_id


def test_agency_file_overrides_a_present_value_in_a_probe_feed(tmp_path: Path) -> None:
    feed = write_gtfs(tmp_path / "probe.zip", {
        "agency.txt": "agency_id,agency_name,agency_url,agency_timezone,agency_branding_url\n"
                      "AG,Old Name,https://old.example.org,Europe/Paris,https://brand.example.org\n",
        "routes.txt": "route_id,agency_id,route_type\nR1,,3\n",
    })
    params = {"agency_name": "New Name", "agency_timezone": "Europe/Brussels"}
    result = build_preprocess("GtfsAgencyFile", params, []).apply(read_feed(feed), PreprocessContext())
    agency = result.require("agency.txt")
    assert agency.header == [*AGENCY_COLUMNS, "agency_branding_url"]
    assert agency.rows == [["AG", "New Name", "https://old.example.org", "Europe/Brussels", "", "", "", "",
                            "https://brand.example.org"]]
    assert result.require("routes.txt").values("agency_id") == ["AG"]


@pytest.mark.parametrize("feed", ["gtfs_without_agency_file.zip", "gtfs_header_only_in_agency_file.zip",
                                  "gtfs_with_no_agency_id.zip"])
def test_agency_file_without_any_agency_id_is_an_error(ref: Path, feed: str) -> None:
    """Tartare: 'agency_id should be provided' when neither the params nor agency.txt give one."""
    with pytest.raises(PreprocessError, match=rf"GtfsAgencyFile: .*{feed}: no agency_id in agency.txt nor in the params"):
        build_preprocess("GtfsAgencyFile", {"agency_name": "x"}, []).apply(read_feed(ref / "agency" / feed), PreprocessContext())


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
