"""Hostile feed archives (issue 18 items 1, 2, 3, 15): each is refused with one line naming the
member, or read correctly, within bounded memory. Every archive is built in the test."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from platform_assets.lib.gtfs.reader import ZipLimits, check_zip_file, read_feed, read_member, write_feed
from platform_assets.transit.errors import FeedError

GOOD = "transitfeed-good_feed.zip"


def feed_with(source: Path, target: Path, extra: dict[str, bytes] | None = None, replace: dict[str, bytes] | None = None) -> Path:
    """A copy of `source` with members added (`extra`) or replaced (`replace`)."""
    replace = replace or {}
    with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in archive.infolist():
            out.writestr(info.filename, replace.get(info.filename, archive.read(info)))
        for name, data in (extra or {}).items():
            out.writestr(name, data)
    return target


def one_line_error(path: Path, limits: ZipLimits | None = None) -> str:
    with pytest.raises(FeedError) as raised:
        read_feed(path, limits=limits) if limits else read_feed(path)
    message = str(raised.value)
    assert "\n" not in message and path.name in message
    return message


# -- item 1: zip slip -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("member", "reason"),
    [
        ("../../x.bin", "'..' path part"),
        ("gtfs/../../etc/x.txt", "'..' path part"),
        ("/tmp/x.bin", "absolute path"),
        ("..\\..\\x.bin", "backslash"),
        ("C:/Windows/x.bin", "drive letter"),
        ("c:x.bin", "drive letter"),
    ],
)
def test_zip_slip_names_are_refused(shared_data: Path, tmp_path: Path, member: str, reason: str) -> None:
    path = feed_with(shared_data / "gtfs/broken" / GOOD, tmp_path / "slip.zip", {member: b"payload"})
    message = one_line_error(path)
    assert f"slip.zip/{member}: unsafe member name (" in message and reason in message
    # Refused at download time too, so such an archive is never saved as a data set.
    with pytest.raises(FeedError, match="unsafe member name"):
        check_zip_file(path, "slip.zip")


def test_symlink_members_are_refused(shared_data: Path, tmp_path: Path) -> None:
    path = feed_with(shared_data / "gtfs/broken" / GOOD, tmp_path / "link.zip")
    link = zipfile.ZipInfo("shapes.txt")
    link.create_system = 3
    link.external_attr = (0o120777 << 16)  # S_IFLNK | rwxrwxrwx
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(link, "/etc/passwd")
    assert "link.zip/shapes.txt: unsafe member name (a symbolic link)" in one_line_error(path)


def test_a_huge_member_name_is_cut_in_the_message(shared_data: Path, tmp_path: Path) -> None:
    member = "../" + "x" * 5000
    path = feed_with(shared_data / "gtfs/broken" / GOOD, tmp_path / "long.zip", {member: b"1"})
    message = one_line_error(path)
    assert "unsafe member name" in message and len(message) < 400


def test_safe_subfolders_are_still_read(shared_data: Path, tmp_path: Path) -> None:
    path = feed_with(shared_data / "gtfs/broken" / GOOD, tmp_path / "sub.zip", {"docs/readme.md": b"hello"})
    assert read_feed(path).other_files["docs/readme.md"] == b"hello"


# -- item 3: encrypted members --------------------------------------------------------------------
def _mark_encrypted(path: Path, member: str) -> None:
    """Set the 'encrypted' flag of `member` in its local and central headers (as `zip -e` does)."""
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        local = archive.getinfo(member).header_offset
    assert raw[local : local + 4] == b"PK\x03\x04"
    raw[local + 6] |= 0x01
    name = member.encode()
    central = raw.index(b"PK\x01\x02")  # the first central directory entry
    while raw[central + 46 : central + 46 + len(name)] != name:
        central = raw.index(b"PK\x01\x02", central + 4)
    raw[central + 8] |= 0x01
    path.write_bytes(bytes(raw))


def test_encrypted_members_are_named(shared_data: Path, tmp_path: Path) -> None:
    path = feed_with(shared_data / "gtfs/broken" / GOOD, tmp_path / "locked.zip")
    _mark_encrypted(path, "stops.txt")
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("stops.txt").flag_bits & 0x1  # what Python's zipfile sees as encrypted
    assert "locked.zip/stops.txt: encrypted archives are not supported" in one_line_error(path)


# -- item 2: bounded inflation ----------------------------------------------------------------------
def _stop_times_bomb(target: Path, megabytes: int) -> Path:
    """Valid, highly repetitive stop_times rows: tiny compressed, `megabytes` MB inflated."""
    row = b"T1,08:00:00,08:00:00,S1,1\n" * 40_000  # ~1 MB
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("stops.txt", "stop_id,stop_name,stop_lat,stop_lon\nS1,One,1.0,1.0\n")
        with archive.open("stop_times.txt", "w", force_zip64=True) as member:
            member.write(b"trip_id,arrival_time,departure_time,stop_id,stop_sequence\n")
            for _ in range(megabytes):
                member.write(row)
    return target


PEAK_RSS_SCRIPT = """
import json, sys
from platform_assets.lib.gtfs.reader import read_feed
from platform_assets.lib.errors import PlatformError
try:
    read_feed(sys.argv[1])
    outcome = "read"
except PlatformError as error:
    outcome = str(error)
# VmHWM is this process's own peak: ru_maxrss would carry the (large) test runner's RSS over
# fork and exec on Linux.
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"outcome": outcome, "peak_kib": peak}))
"""


def _read_in_subprocess(path: Path) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", PEAK_RSS_SCRIPT, str(path)], capture_output=True, text=True, timeout=300, check=True)
    return json.loads(done.stdout)


def test_a_compression_bomb_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    # 80 MB of valid rows in ~100 KB: the old reader held it whole and as lists (over 1 GB peak).
    path = _stop_times_bomb(tmp_path / "bomb.zip", 80)
    assert path.stat().st_size < 2 * 1024 * 1024
    result = _read_in_subprocess(path)
    assert "bomb.zip/stop_times.txt" in str(result["outcome"]) and "100:1" in str(result["outcome"])
    assert int(result["peak_kib"]) < 300 * 1024, result  # generous: the interpreter alone is ~30 MB


def test_zeros_are_refused_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "zeros.zip"
    zeros = bytes(1024 * 1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("stops.txt", "w", force_zip64=True) as member:
        for _ in range(512):
            member.write(zeros)
    result = _read_in_subprocess(path)
    assert "zeros.zip/stops.txt" in str(result["outcome"])
    assert int(result["peak_kib"]) < 300 * 1024, result


SPILL_SCRIPT = """
import json, sys
from platform_assets.lib.gtfs.reader import read_feed, write_feed
from platform_assets.transit.merge import prefix_feed
def peak_kib():
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
before = peak_kib()  # the interpreter with pandas and pyarrow loaded (about 120 MiB)
feed = read_feed(sys.argv[1], spill_rows=int(sys.argv[2]))
prefix_feed(feed, "P")
write_feed(feed, sys.argv[1] + ".export.zip")
print(json.dumps({"rows": len(feed.tables["stop_times.txt"].rows), "growth_kib": peak_kib() - before}))
"""


def test_an_accepted_feed_is_exported_in_memory_that_does_not_grow_with_it(tmp_path: Path) -> None:
    """Accepted feeds kept every row as a Python list: about 13 MiB of RSS per MB of stop_times.
    Past `spill_rows` rows a table is spilled to a temporary file; here 3 MB of stop_times
    (120,000 rows; as lists about 40 MiB) read, prefixed and written with 2,000 rows in memory."""
    path = _stop_times_bomb(tmp_path / "big.zip", 3)
    done = subprocess.run([sys.executable, "-c", SPILL_SCRIPT, str(path), "2000"], capture_output=True, text=True,
                          timeout=300, check=True)
    result = json.loads(done.stdout)
    assert result["rows"] == 3 * 40_000
    assert result["growth_kib"] < 20 * 1024, result  # as lists: about 57 MiB
    with zipfile.ZipFile(str(path) + ".export.zip") as archive, archive.open("stop_times.txt") as member:
        lines = member.read().decode().split("\r\n")
    assert lines[:2] == ["trip_id,arrival_time,departure_time,stop_id,stop_sequence", "P:T1,08:00:00,08:00:00,P:S1,1"]
    assert len(lines) == 1 + 3 * 40_000 + 1 and lines[-1] == ""


def test_spilled_tables_are_prefixed_filtered_and_written_like_lists(tmp_path: Path) -> None:
    from platform_assets.lib.gtfs.reader import SpilledRows
    from platform_assets.transit.merge import prefix_feed
    from platform_assets.transit.preprocesses import PreprocessContext, RemoveUnusedStops

    path = tmp_path / "small.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("agency.txt", "agency_name,agency_url,agency_timezone\nA,http://a,Europe/Paris\n")
        archive.writestr("routes.txt", "route_id,agency_id,route_type\nR1,,3\n")
        archive.writestr("stops.txt", "stop_id,stop_name,location_type,parent_station\n"
                         "S1,One,0,ST\nS2,Two,0,\nST,Station,1,\nST2,Empty station,1,\n")
        archive.writestr("trips.txt", "route_id,service_id,trip_id\nR1,SV,T1\n")
        archive.writestr("stop_times.txt", "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
                         "T1,08:00:00,08:00:00,S1,1\nT1,08:10:00,08:10:00,S1,2\nT1,08:20:00,08:20:00,S1,3\n")
    feed = read_feed(path, spill_rows=2)
    assert isinstance(feed.tables["stop_times.txt"].rows, SpilledRows) and isinstance(feed.tables["stops.txt"].rows, SpilledRows)
    assert isinstance(feed.tables["trips.txt"].rows, list)
    prefix_feed(feed, "P")
    RemoveUnusedStops().apply(feed, PreprocessContext({}, lambda _message: None))
    assert len(feed.tables["stops.txt"].rows) == 2
    write_feed(feed, tmp_path / "out.zip")
    with zipfile.ZipFile(tmp_path / "out.zip") as archive:
        text = {name: archive.read(name).decode() for name in archive.namelist()}
    assert text["stop_times.txt"] == (
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\r\n"
        "P:T1,08:00:00,08:00:00,P:S1,1\r\nP:T1,08:10:00,08:10:00,P:S1,2\r\nP:T1,08:20:00,08:20:00,P:S1,3\r\n"
    )
    # S2 is used by no stop time, ST2 is a station without a kept stop: both dropped.
    assert text["stops.txt"] == (
        "stop_id,stop_name,location_type,parent_station\r\nP:S1,One,0,P:ST\r\nP:ST,Station,1,\r\n"
    )
    assert text["routes.txt"] == "route_id,agency_id,route_type\r\nP:R1,P:agency,3\r\n"


def test_per_member_and_per_feed_limits(shared_data: Path, tmp_path: Path) -> None:
    path = _stop_times_bomb(tmp_path / "big.zip", 3)
    generous_ratio = {"max_ratio": 10_000}
    message = one_line_error(path, ZipLimits(max_member_bytes=2 * 1024 * 1024, **generous_ratio))
    assert "big.zip/stop_times.txt:" in message and "over the 2 MiB limit per file" in message
    message = one_line_error(path, ZipLimits(max_feed_bytes=2 * 1024 * 1024, **generous_ratio))
    assert "big.zip:" in message and "over the 2 MiB limit per feed" in message
    ratio = one_line_error(path, ZipLimits(max_ratio=10, ratio_floor_bytes=1024 * 1024))
    assert "over the 10:1 limit" in ratio
    feed = read_feed(path, limits=ZipLimits(**generous_ratio))
    assert feed.count("stop_times.txt") == 3 * 40_000


def test_read_member_is_bounded_too(tmp_path: Path) -> None:
    path = _stop_times_bomb(tmp_path / "export.zip", 2)
    with pytest.raises(FeedError, match="export.zip/stop_times.txt: .* over the 1 MiB limit per file"):
        read_member(path, "stop_times.txt", ZipLimits(max_member_bytes=1024 * 1024))
    assert read_member(path, "stops.txt").startswith(b"stop_id")


# -- item 15: encodings -----------------------------------------------------------------------------
STOPS = "stop_id,stop_name,stop_lat,stop_lon\r\nS1,{name},1.0,2.0\r\nS2,Gare,1.5,2.5\r\n"


def _stops_feed(shared_data: Path, tmp_path: Path, data: bytes, name: str = "enc.zip") -> Path:
    return feed_with(shared_data / "gtfs/broken" / GOOD, tmp_path / name, replace={"stops.txt": data})


def test_utf32_is_refused_not_read_as_utf16(shared_data: Path, tmp_path: Path) -> None:
    for encoding in ("utf-32", "utf-32-be"):
        data = STOPS.format(name="Gare").encode(encoding)
        if encoding == "utf-32-be":
            data = b"\x00\x00\xfe\xff" + data
        path = _stops_feed(shared_data, tmp_path, data, f"{encoding}.zip")
        assert f"{encoding}.zip/stops.txt: UTF-32 text is not supported" in one_line_error(path)


def test_utf32_without_bom_is_named_not_exported_as_garbage(shared_data: Path, tmp_path: Path) -> None:
    path = _stops_feed(shared_data, tmp_path, STOPS.format(name="Gare").encode("utf-32-le"))
    assert "enc.zip/stops.txt: contains a NUL byte" in one_line_error(path)


@pytest.mark.parametrize("name", ["東京駅", "新宿", "渋谷駅前 1番線", "大阪"])
def test_shift_jis_is_an_error_not_latin1(shared_data: Path, tmp_path: Path, name: str) -> None:
    path = _stops_feed(shared_data, tmp_path, STOPS.format(name=name).encode("shift_jis"))
    message = one_line_error(path)
    assert "enc.zip/stops.txt: neither UTF-8 nor Latin-1/Windows-1252 text" in message


@pytest.mark.parametrize(("encoding", "name"), [("koi8-r", "Москва Вокзал"), ("gbk", "北京站"), ("euc-jp", "東京駅")])
def test_other_non_latin_encodings_are_errors(shared_data: Path, tmp_path: Path, encoding: str, name: str) -> None:
    path = _stops_feed(shared_data, tmp_path, STOPS.format(name=name).encode(encoding))
    assert "neither UTF-8 nor Latin-1/Windows-1252" in one_line_error(path)


def test_windows_1252_is_read_as_text_with_a_warning(shared_data: Path, tmp_path: Path) -> None:
    name = "Église Saint-Œuvre l’Hôtel de Ville – Bodø"
    path = _stops_feed(shared_data, tmp_path, STOPS.format(name=name).encode("cp1252"))
    feed = read_feed(path)
    assert feed.require("stops.txt").values("stop_name") == [name, "Gare"]
    assert any("enc.zip/stops.txt: not UTF-8, read as Windows-1252 (Latin-1)" in w for w in feed.warnings)
    # Written back as UTF-8: the same characters, not C1 control codes.
    again = read_feed(write_feed(feed, tmp_path / "out.zip"))
    assert again.require("stops.txt").values("stop_name") == [name, "Gare"] and not again.warnings


def test_utf16_with_bom_and_utf8_stay_as_they_were(shared_data: Path, tmp_path: Path) -> None:
    name = "東京駅 Église"
    for encoding in ("utf-16", "utf-8", "utf-8-sig"):
        path = _stops_feed(shared_data, tmp_path, STOPS.format(name=name).encode(encoding), f"{encoding}.zip")
        feed = read_feed(path)
        assert feed.require("stops.txt").values("stop_name") == [name, "Gare"] and not feed.warnings


def test_an_endless_line_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "line.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("stops.txt", "w", force_zip64=True) as member:
        member.write(b"stop_id,stop_name\nS1,")
        chunk = bytes(range(ord("a"), ord("z"))) * 40_000
        for _ in range(20):
            member.write(chunk)
    message = one_line_error(path, ZipLimits(max_ratio=10_000))
    assert "line.zip/stops.txt: line 2 is longer than" in message


def test_the_quality_reader_flags_what_the_reader_refuses(shared_data: Path, tmp_path: Path) -> None:
    from platform_assets.lib.gtfs.reader import read_gtfs_frames

    stop_times = "trip_id,arrival_time,departure_time,stop_id,stop_sequence\r\nT1,08:00:00,08:00:00,東京駅,1\r\n"
    cases = {"sjis.zip": (stop_times.encode("shift_jis"), "neither UTF-8 nor Latin-1/Windows-1252"),
             "utf32.zip": (stop_times.encode("utf-32"), "UTF-32 text is not supported")}
    for name, (data, problem) in cases.items():
        path = feed_with(shared_data / "gtfs/broken" / GOOD, tmp_path / name, replace={"stop_times.txt": data})
        frames = read_gtfs_frames(path)
        assert problem in frames.unreadable["stop_times.txt"]
