"""Reading real, messy feeds: every broken feed is read correctly or fails naming file and problem."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from platform_assets.lib.gtfs.reader import read_feed, write_feed
from platform_assets.lib.gtfs.validity import feed_validity_period
from platform_assets.transit.errors import FeedError
from platform_assets_tests.conftest import SHARED_DATA

BROKEN_FAILURES = {
    "transitfeed-unknown_format.zip": "not a zip archive",
    "transitfeed-contains_null.zip": "stops.txt: contains a NUL byte",
    "transitfeed-bad_date_format.zip": "calendar.txt: unparsable date '2007.01.01'",
    "transitfeed-missing_calendar.zip": "neither calendar.txt nor calendar_dates.txt",
}


def broken_feeds() -> list[str]:
    return sorted(path.name for path in (SHARED_DATA / "gtfs/broken").glob("*.zip"))


@pytest.mark.parametrize("name", broken_feeds())
def test_every_broken_feed_is_read_or_named(shared_data: Path, name: str) -> None:
    path = shared_data / "gtfs/broken" / name
    if name in BROKEN_FAILURES:
        with pytest.raises(FeedError) as raised:
            feed_validity_period(read_feed(path))
        message = str(raised.value)
        assert name in message and BROKEN_FAILURES[name] in message and "\n" not in message
        return
    feed = read_feed(path)
    period = feed_validity_period(feed)
    assert period.start_date.year == 2007
    assert feed.count("stop_times.txt") == 28
    assert feed.count("trips.txt") == 11


def test_encodings_and_line_ends_are_read_as_text(shared_data: Path) -> None:
    good = read_feed(shared_data / "gtfs/broken/transitfeed-good_feed.zip")
    utf16 = read_feed(shared_data / "gtfs/broken/transitfeed-utf16.zip")
    bom = read_feed(shared_data / "gtfs/broken/transitfeed-utf8bom.zip")
    eol = read_feed(shared_data / "gtfs/broken/transitfeed-bad_eol.zip")
    assert utf16.require("agency.txt").header[0] == "agency_id"
    assert bom.require("agency.txt").header[0] == "agency_id"  # BOM stripped
    assert eol.require("stop_times.txt").rows[:3] == good.require("stop_times.txt").rows[:3]
    assert not utf16.warnings and not bom.warnings


def test_latin1_falls_back_with_a_warning(shared_data: Path) -> None:
    feed = read_feed(shared_data / "gtfs/partridge-region-nord-v2.zip")
    assert any("stops.txt: not UTF-8" in warning and "Latin-1" in warning for warning in feed.warnings)
    names = feed.require("stops.txt").values("stop_name")
    assert any(ch in name for name in names for ch in "æøåÆØÅ")
    # Times past 24:00 are kept as they are.
    assert any(value > "24:00:00" for value in feed.require("stop_times.txt").values("arrival_time"))


def test_ragged_rows_are_padded_or_trimmed(tmp_path: Path) -> None:
    path = tmp_path / "ragged.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("stops.txt", "stop_id,stop_name,stop_lat\r\nA,Alpha\rB,Beta,1.0,extra\n\nC,Gamma,2.0,,\n")
    feed = read_feed(path)
    assert feed.require("stops.txt").rows == [["A", "Alpha", ""], ["B", "Beta", "1.0"], ["C", "Gamma", "2.0"]]
    assert any("extra cells dropped" in warning for warning in feed.warnings)


def test_written_feed_reads_back_identically(shared_data: Path, tmp_path: Path) -> None:
    feed = read_feed(shared_data / "gtfs/broken/transitfeed-utf16.zip")
    again = read_feed(write_feed(feed, tmp_path / "out.zip"))
    assert {name: table.rows for name, table in again.tables.items()} == {
        name: table.rows for name, table in feed.tables.items()
    }


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match=r"nope.zip: no such file"):
        read_feed(tmp_path / "nope.zip")


def test_a_damaged_member_is_named_not_a_zlib_traceback(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "gtfs/broken/transitfeed-good_feed.zip"
    target = tmp_path / "damaged.zip"
    with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in archive.infolist():
            data = archive.read(info)
            out.writestr(info.filename, data * 50 if info.filename == "stop_times.txt" else data)
    raw = bytearray(target.read_bytes())
    with zipfile.ZipFile(target) as archive:
        info = archive.getinfo("stop_times.txt")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    raw[start + 40 : start + 60] = bytes(byte ^ 0xFF for byte in raw[start + 40 : start + 60])  # inside the deflate stream
    target.write_bytes(bytes(raw))
    with pytest.raises(FeedError, match=r"damaged.zip/stop_times.txt: cannot be extracted \(Error -3"):
        read_feed(target)
