"""Each GTFS rule named by its MobilityData notice: a good feed it must not flag, and a copy of it
broken in one way, built here, that it must flag."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from platform_assets.lib.gtfs.reader import Table, read_feed, write_feed
from platform_assets.quality.gtfs.notices import RULES
from platform_assets.quality.gtfs.registry import check_feed

TODAY = date(2008, 1, 1)  # inside the good feed's calendar (2007-2011)
SAMPLE_FEED = Path(__file__).parents[1] / "data" / "gtfs" / "broken" / "transitfeed-good_feed.zip"
AGENCY_NAME = "Autorité de passage de démonstration"  # agency.txt's only non-ASCII text


def _set(table: Table, key: str, value: str, column: str, new: str) -> None:
    index, target = table.column(key), table.ensure_column(column)
    next(row for row in table.rows if row[index] == value)[target] = new


def _stop_time(tables: dict[str, Table], trip: str, position: int, column: str, value: str) -> None:
    table = tables["stop_times.txt"]
    trip_index, target = table.column("trip_id"), table.ensure_column(column)
    [row for row in table.rows if row[trip_index] == trip][position][target] = value


def _add_row(table: Table, **cells: str) -> None:
    for column in cells:
        table.ensure_column(column)
    table.rows.append([cells.get(column, "") for column in table.header])


def _add_table(tables: dict[str, Table], name: str, header: list[str], rows: list[list[str]]) -> None:
    tables[name] = Table(name, header, rows)


def _append_column(table: Table, name: str, value: str) -> None:
    """A column appended even when the header already has its name (ensure_column would reuse it)."""
    table.header.append(name)
    for row in table.edited_rows():
        row.append(value)


def _drop_column(table: Table, name: str) -> None:
    index = table.column(name)
    del table.header[index]
    for row in table.edited_rows():
        del row[index]


@dataclass(frozen=True)
class MemberBytes:
    """An edit the tables cannot hold (text that is not UTF-8, a row shorter than its header, a file
    that is not CSV): made on the written zip, `old` replaced by `new` (found exactly once) in the
    bytes of `member`. As an edit of the tables it does nothing; `write_case` applies it."""

    member: str
    old: bytes
    new: bytes

    def __call__(self, tables: dict[str, Table]) -> None:
        pass

    def rewrite(self, path: Path) -> None:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: archive.read(info) for info in archive.infolist()}
        if members[self.member].count(self.old) != 1:
            raise ValueError(f"{self.member}: {self.old!r} is not found exactly once")
        members[self.member] = members[self.member].replace(self.old, self.new)
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data in members.items():
                archive.writestr(name, data)


Edit = Callable[[dict[str, Table]], None]


def write_case(edit: Edit | None, path: Path) -> Path:
    """The sample feed read and written back to `path` with `edit` applied (None: as is); the one
    writer of the tests and of benchmarks/gtfs_rule_coverage.py, so both check the same bytes."""
    feed = read_feed(SAMPLE_FEED)
    if edit is not None:
        edit(feed.tables)
    write_feed(feed, path)
    if isinstance(edit, MemberBytes):
        edit.rewrite(path)
    return path


CASES: list[tuple[str, Edit]] = [
    ("foreign_key_violation", lambda t: _stop_time(t, "AB1", 0, "stop_id", "NOWHERE")),
    ("invalid_time", lambda t: _stop_time(t, "AB1", 0, "arrival_time", "8h00")),
    ("stop_time_with_only_arrival_or_departure_time", lambda t: _stop_time(t, "CITY1", 1, "departure_time", "")),
    ("stop_time_with_arrival_before_previous_departure_time", lambda t: (
        _stop_time(t, "CITY1", 2, "arrival_time", "5:50:00"), _stop_time(t, "CITY1", 2, "departure_time", "5:50:00"))),
    ("missing_trip_edge", lambda t: (_stop_time(t, "AB1", 0, "arrival_time", ""), _stop_time(t, "AB1", 0, "departure_time", ""))),
    ("decreasing_or_equal_stop_time_distance", lambda t: (
        _stop_time(t, "AB1", 0, "shape_dist_traveled", "5"), _stop_time(t, "AB1", 1, "shape_dist_traveled", "5"))),
    ("stop_time_timepoint_without_times", lambda t: (
        _stop_time(t, "CITY1", 1, "arrival_time", ""), _stop_time(t, "CITY1", 1, "departure_time", ""),
        _stop_time(t, "CITY1", 1, "timepoint", "1"))),
    ("duplicate_key", lambda t: _stop_time(t, "CITY1", 1, "stop_sequence", t["stop_times.txt"].rows[0][t["stop_times.txt"].column("stop_sequence")])),
    ("invalid_integer", lambda t: _stop_time(t, "CITY1", 1, "stop_sequence", "two")),
    ("unexpected_enum_value", lambda t: _stop_time(t, "CITY1", 1, "pickup_type", "7")),
    ("location_with_unexpected_stop_time", lambda t: _stop_time(t, "AB1", 0, "stop_id", "BEATTY_AIRPORT_STATION")),
    ("unusable_trip", lambda t: setattr(t["stop_times.txt"], "rows", [r for r in t["stop_times.txt"].rows if r[0] != "AB1"]
                                        + [next(r for r in t["stop_times.txt"].rows if r[0] == "AB1")])),
    ("unused_trip", lambda t: setattr(t["stop_times.txt"], "rows", [r for r in t["stop_times.txt"].rows if r[0] != "AB1"])),
    ("missing_required_file", lambda t: t.pop("agency.txt")),
    ("missing_calendar_and_calendar_date_files", lambda t: (t.pop("calendar.txt"), t.pop("calendar_dates.txt", None))),
    ("empty_file", lambda t: setattr(t["routes.txt"], "rows", [])),
    ("unknown_file", lambda t: _add_table(t, "notes.txt", ["note"], [["hello"]])),
    ("unknown_column", lambda t: _set(t["routes.txt"], "route_id", "AB", "route_colour", "red")),
    ("invalid_color", lambda t: _set(t["routes.txt"], "route_id", "AB", "route_color", "red")),
    ("invalid_url", lambda t: _set(t["agency.txt"], "agency_id", "DTA", "agency_url", "not a url")),
    ("invalid_timezone", lambda t: _set(t["agency.txt"], "agency_id", "DTA", "agency_timezone", "Mars/Olympus")),
    ("invalid_date", lambda t: _set(t["calendar.txt"], "service_id", "FULLW", "start_date", "2007.01.01")),
    ("number_out_of_range", lambda t: _set(t["stops.txt"], "stop_id", "AMV", "stop_lat", "95.5")),
    ("missing_required_field", lambda t: _set(t["routes.txt"], "route_id", "AB", "route_type", "")),
    ("route_both_short_and_long_name_missing", lambda t: (
        _set(t["routes.txt"], "route_id", "AB", "route_short_name", ""), _set(t["routes.txt"], "route_id", "AB", "route_long_name", ""))),
    ("route_short_name_too_long", lambda t: _set(t["routes.txt"], "route_id", "AB", "route_short_name", "A very long short name")),
    ("station_with_parent_station", lambda t: (
        _add_row(t["stops.txt"], stop_id="OTHER_STATION", stop_name="Other", stop_lat="36.9", stop_lon="-116.7", location_type="1"),
        _set(t["stops.txt"], "stop_id", "BEATTY_AIRPORT_STATION", "parent_station", "OTHER_STATION"))),
    ("stop_without_location", lambda t: _set(t["stops.txt"], "stop_id", "AMV", "stop_lat", "")),
    ("missing_stop_name", lambda t: _set(t["stops.txt"], "stop_id", "AMV", "stop_name", "")),
    ("location_without_parent_station", lambda t: _add_row(
        t["stops.txt"], stop_id="ENTRANCE", stop_name="Entrance", stop_lat="36.9", stop_lon="-116.7", location_type="2")),
    ("wrong_parent_location_type", lambda t: _set(t["stops.txt"], "stop_id", "AMV", "parent_station", "BULLFROG")),
    ("point_near_origin", lambda t: (_set(t["stops.txt"], "stop_id", "AMV", "stop_lat", "0.1"), _set(t["stops.txt"], "stop_id", "AMV", "stop_lon", "0.2"))),
    ("point_near_pole", lambda t: _set(t["stops.txt"], "stop_id", "AMV", "stop_lat", "89.5")),
    ("stop_without_stop_time", lambda t: _add_row(t["stops.txt"], stop_id="LONELY", stop_name="Lonely", stop_lat="36.5", stop_lon="-116.5")),
    ("missing_required_agency_id", lambda t: (
        _add_row(t["agency.txt"], agency_id="OTHER", agency_name="Other", agency_url="http://o.example", agency_timezone="America/Los_Angeles"),
        _set(t["routes.txt"], "route_id", "AB", "agency_id", ""))),
    ("inconsistent_agency_timezone", lambda t: _add_row(t["agency.txt"], agency_id="OTHER", agency_name="Other", agency_url="http://o.example",
                                                        agency_timezone="Europe/Paris")),
    ("start_and_end_range_out_of_order", lambda t: _set(t["calendar.txt"], "service_id", "FULLW", "start_date", "20120101")),
    ("start_and_end_range_equal", lambda t: _add_row(t["frequencies.txt"], trip_id="CITY1", start_time="6:00:00", end_time="6:00:00", headway_secs="600")),
    ("overlapping_frequency", lambda t: _add_row(t["frequencies.txt"], trip_id="STBA", start_time="6:30:00", end_time="7:30:00", headway_secs="600")),
    ("service_has_no_active_day_of_the_week", lambda t: [
        _set(t["calendar.txt"], "service_id", "WE", day, "0") for day in ("saturday", "sunday")]),
    ("expired_calendar", lambda t: [_set(t["calendar.txt"], "service_id", s, "end_date", "20071231") for s in ("FULLW", "WE")]),
    ("feed_expiration_date7_days", lambda t: _add_table(t, "feed_info.txt", ["feed_publisher_name", "feed_publisher_url", "feed_lang",
                                                                               "feed_start_date", "feed_end_date"],
                                                        [["P", "http://p.example", "en", "20070101", "20080103"]])),
    ("feed_expiration_date30_days", lambda t: _add_table(t, "feed_info.txt", ["feed_publisher_name", "feed_publisher_url", "feed_lang",
                                                                                "feed_start_date", "feed_end_date"],
                                                         [["P", "http://p.example", "en", "20070101", "20080120"]])),
    ("missing_feed_info_date", lambda t: _add_table(t, "feed_info.txt", ["feed_publisher_name", "feed_publisher_url", "feed_lang", "feed_end_date"],
                                                    [["P", "http://p.example", "en", "20111231"]])),
    ("decreasing_shape_distance", lambda t: _add_table(t, "shapes.txt", ["shape_id", "shape_pt_lat", "shape_pt_lon", "shape_pt_sequence", "shape_dist_traveled"],
                                                       [["S", "36.1", "-116.1", "1", "0"], ["S", "36.2", "-116.2", "2", "9"], ["S", "36.3", "-116.3", "3", "5"]])),
    ("equal_shape_distance_diff_coordinates", lambda t: _add_table(t, "shapes.txt", ["shape_id", "shape_pt_lat", "shape_pt_lon", "shape_pt_sequence", "shape_dist_traveled"],
                                                                   [["S", "36.1", "-116.1", "1", "0"], ["S", "36.2", "-116.2", "2", "0"]])),
    ("single_shape_point", lambda t: _add_table(t, "shapes.txt", ["shape_id", "shape_pt_lat", "shape_pt_lon", "shape_pt_sequence"], [["S", "36.1", "-116.1", "1"]])),
    ("unused_shape", lambda t: _add_table(t, "shapes.txt", ["shape_id", "shape_pt_lat", "shape_pt_lon", "shape_pt_sequence"],
                                          [["S", "36.1", "-116.1", "1"], ["S", "36.2", "-116.2", "2"]])),
    # the files' bytes and headers
    ("csv_parsing_failed", MemberBytes("transfers.txt", b"EMSI,NANAA", b"EMSI\x00,NANAA")),  # a NUL byte: not text
    ("invalid_character", MemberBytes("agency.txt", AGENCY_NAME.encode(), AGENCY_NAME.encode("cp1252"))),  # all agency.txt Latin-1
    ("invalid_row_length", MemberBytes("routes.txt", b"Furnace Creek Resort,,3,,,\r\n", b"Furnace Creek Resort,,3\r\n")),
    ("duplicated_column", lambda t: _append_column(t["routes.txt"], "route_type", "3")),
    ("empty_column_name", lambda t: _append_column(t["routes.txt"], "", "")),  # the header's trailing comma
    ("missing_required_column", lambda t: _drop_column(t["agency.txt"], "agency_name")),
    ("new_line_in_value", lambda t: _set(t["stops.txt"], "stop_id", "AMV", "stop_desc", "Amargosa Valley\nby the post office")),
    # field formats
    ("invalid_email", lambda t: _set(t["agency.txt"], "agency_id", "DTA", "agency_email", "info at example.com")),
    ("invalid_float", lambda t: _set(t["stops.txt"], "stop_id", "AMV", "stop_lon", "-116,7")),
    ("invalid_language_code", lambda t: _set(t["agency.txt"], "agency_id", "DTA", "agency_lang", "en_US")),
    # stops and routes
    ("platform_without_parent_station", lambda t: _set(t["stops.txt"], "stop_id", "AMV", "platform_code", "2")),
    ("unused_station", lambda t: _add_row(t["stops.txt"], stop_id="EMPTY_STATION", stop_name="Empty", stop_lat="36.6",
                                          stop_lon="-116.6", location_type="1")),
    ("same_name_and_description_for_route", lambda t: _set(t["routes.txt"], "route_id", "AB", "route_desc", "airport ⇒ bullfrog")),
]


@pytest.fixture(scope="module")
def good_report(shared_data_module: Path):  # type: ignore[no-untyped-def]
    return check_feed(shared_data_module / "gtfs" / "broken" / "transitfeed-good_feed.zip", today=TODAY).by_name()


@pytest.fixture(scope="module")
def shared_data_module() -> Path:
    return Path(__file__).parents[1] / "data"


@pytest.mark.parametrize(("code", "edit"), CASES, ids=[case[0] for case in CASES])
def test_each_rule_flags_its_broken_feed_and_not_the_good_one(
    code: str, edit: Edit, good_report: dict, tmp_path: Path  # type: ignore[type-arg]
) -> None:
    assert code in RULES
    assert good_report[code].failed == 0, good_report[code].examples
    broken = check_feed(write_case(edit, tmp_path / "broken.zip"), today=TODAY).by_name()
    assert broken[code].failed >= 1, code
    assert broken[code].meta["severity"] == RULES[code].severity


def test_a_non_utf8_file_is_an_invalid_character_error(shared_data_module: Path) -> None:
    names = check_feed(shared_data_module / "gtfs" / "broken" / "transitfeed-bad_utf8.zip", today=TODAY).by_name()
    assert names["invalid_character"].failed >= 1 and names["invalid_character"].meta["severity"] == "ERROR"


def test_severities_are_mobilitydatas() -> None:
    from platform_assets.quality.gtfs.notices import mobilitydata_notices

    reference = mobilitydata_notices()
    assert {code: declared.severity for code, declared in RULES.items()} == {code: reference[code][0] for code in RULES}


def test_close_stops_use_a_grid_and_never_fail(tmp_path: Path, shared_data_module: Path) -> None:
    """20,000 stops on one latitude (the old latitude window was quadratic there): two of them
    1 m apart are found, the check is informational (never failing)."""
    import time

    feed = read_feed(shared_data_module / "gtfs" / "broken" / "transitfeed-good_feed.zip")
    stops = feed.tables["stops.txt"]
    for number in range(20_000):
        _add_row(stops, stop_id=f"LINE{number}", stop_name="x", stop_lat="45.0", stop_lon=f"{number * 0.001:.6f}")
    _add_row(stops, stop_id="TWIN", stop_name="x", stop_lat="45.0", stop_lon="0.0000127")  # ~1 m east of LINE0
    path = write_feed(feed, tmp_path / "line.zip")
    from platform_assets.lib.gtfs.reader import read_gtfs_frames
    from platform_assets.quality.gtfs.dataset import close_stops

    started = time.process_time()
    result = close_stops(read_gtfs_frames(path))
    assert time.process_time() - started < 5
    assert result.failed == 2 and result.ok
    assert {example["item"] for example in result.examples["failed"]} == {"LINE0", "TWIN"}


def test_the_readme_lists_every_rule_covered_and_not_covered() -> None:
    from platform_assets.quality.gtfs.notices import mobilitydata_notices, rules_markdown

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index("<!-- gtfs-rules:start")
    block = readme[readme.index("\n", start) + 1 : readme.index("<!-- gtfs-rules:end -->")]
    assert block == rules_markdown()
    assert all(f"`{code}`" in block for code in mobilitydata_notices())


def test_every_rule_has_its_broken_feed_in_one_corpus() -> None:
    """The two case lists together name each of the 133 notices, none twice across them."""
    from platform_assets_tests.quality.test_gtfs_flex_fares_stations import CASES as SMALL_FEED_CASES

    sample = [code for code, _edit in CASES]
    small = {code for code, _id, _edit, _count in SMALL_FEED_CASES}
    assert len(sample) == len(set(sample)) and not set(sample) & small
    assert set(sample) | small == set(RULES) and len(RULES) == 133


def test_a_bytes_edit_must_find_its_text_once(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not found exactly once"):
        write_case(MemberBytes("routes.txt", b",3,,,\r\n", b",3\r\n"), tmp_path / "feed.zip")  # five routes end so
