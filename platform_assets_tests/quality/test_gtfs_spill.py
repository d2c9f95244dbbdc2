"""The GTFS checks' per-trip columns spilled to disk past a threshold (issue 18 item 2): the per-trip
rules then run bucket by bucket and give the results of the in-memory path, and what the checks
hold stays bounded by the threshold, not by the size of stop_times.txt."""

from __future__ import annotations

import tracemalloc
import zipfile
from pathlib import Path

from platform_assets.lib.gtfs.reader import read_gtfs_frames
from platform_assets.lib.quality.result import MAX_EXAMPLES
from platform_assets.quality.gtfs import stop_times
from platform_assets.quality.gtfs.notices import Findings
from platform_assets.quality.gtfs.registry import check_feed
from platform_assets.quality.gtfs.spill import RowSpill

HEADER = "trip_id,arrival_time,departure_time,stop_id,stop_sequence,shape_dist_traveled\n"


def _time(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _feed(path: Path, trips: int, stops_per_trip: int, defects: bool) -> Path:
    """`trips` trips of `stops_per_trip` stop times, written interleaved (trip t's k-th stop after
    every trip's (k-1)-th), so that every bucket gathers rows from across the file. With `defects`:
    every 7th trip has one arrival before the previous departure (at its 3rd stop), every 11th a
    repeated stop_sequence (its 2nd stop), every 13th a decreasing distance (its 4th stop), every
    17th an arrival after departure (its 5th stop), trip T1000 has one stop time and a trip that
    trips.txt lacks (X1) two; plus a stop time without a trip_id."""
    rows = [HEADER]
    for k in range(stops_per_trip):
        for t in range(trips):
            arrival = 8 * 3600 + t * 60 + k * 120
            departure = arrival + 30
            sequence, distance = k, 100.0 * k
            if defects and t % 7 == 0 and k == 2:
                arrival -= 200  # before stop 1's departure (arrival + 120 - 200 < previous arrival + 30)
                departure = arrival + 30
            if defects and t % 11 == 0 and k == 1:
                sequence = 0
            if defects and t % 13 == 0 and k == 3:
                distance = 50.0
            if defects and t % 17 == 0 and k == 4:
                departure = arrival - 10
            rows.append(f"T{t},{_time(arrival)},{_time(departure)},S{(t + k) % 50},{sequence},{distance}\n")
    if defects:
        rows += ["T1000,08:00:00,08:00:00,S1,0,\n", "X1,08:00:00,08:00:00,S1,0,\n", "X1,08:05:00,08:05:00,S2,1,\n",
                 ",08:00:00,08:00:00,S1,0,\n"]
    trip_rows = "".join(f"T{t},R1,WK\n" for t in range(trips)) + ("T1000,R1,WK\nT1001,R1,WK\n" if defects else "")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("agency.txt", "agency_id,agency_name,agency_url,agency_timezone\nA,A,https://a.example,Europe/Paris\n")
        archive.writestr("routes.txt", "route_id,agency_id,route_short_name,route_type\nR1,A,1,3\n")
        archive.writestr("calendar.txt", "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
                                         "WK,1,1,1,1,1,0,0,20260101,20261231\n")
        archive.writestr("trips.txt", "trip_id,route_id,service_id\n" + trip_rows)
        archive.writestr("stops.txt", "stop_id,stop_name,stop_lat,stop_lon\n" + "".join(f"S{s},S{s},48.{s:02d},2.{s:02d}\n" for s in range(50)))
        archive.writestr("stop_times.txt", "".join(rows))
        if defects:
            archive.writestr("shapes.txt", _shapes())
    return path


def _shapes() -> str:
    """60 shapes of 10 points, interleaved: every 7th with a decreasing distance (its 4th point),
    every 9th a repeated shape_pt_sequence (its 2nd point); shape Z has one point."""
    rows = ["shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence,shape_dist_traveled\n"]
    for k in range(10):
        for s in range(60):
            sequence = 0 if s % 9 == 0 and k == 1 else k
            distance = 50.0 if s % 7 == 0 and k == 3 else 100.0 * k
            rows.append(f"P{s},48.{k:02d},2.{s:02d},{sequence},{distance}\n")
    return "".join(rows) + "Z,48.5,2.5,0,0\n"


def test_spilled_stop_times_give_the_in_memory_results(tmp_path: Path) -> None:
    feed = _feed(tmp_path / "feed.zip", trips=300, stops_per_trip=8, defects=True)
    work = tmp_path / "work"
    work.mkdir()
    in_memory = check_feed(feed, chunk_rows=100, spill_rows=None)
    spilled = check_feed(feed, chunk_rows=100, spill_rows=150, work_folder=work)
    assert in_memory.spilled_buckets == 0
    # 2,404 stop times with a trip_id in whole trips of 8, and 601 shape points in whole shapes
    # of 10: about 2,404 / 150 and 601 / 150 buckets.
    assert 18 <= spilled.spilled_buckets <= 22
    assert list(work.iterdir()) == []  # the spill folder and its bucket files are gone
    # repr: an example's `previous` distance may be NaN (no previous one), which == never matches.
    assert [repr(r.to_dict()) for r in spilled.results] == [repr(r.to_dict()) for r in in_memory.results]
    names = spilled.by_name()
    # Hand-counted: trips 0, 7, ..., 294 (43), 0, 11, ..., 297 (28), 0, 13, ..., 299 (24), 0, 17, ..., 289 (18).
    assert names["stop_time_with_arrival_before_previous_departure_time"].failed == 43
    assert names["duplicate_key"].failed == 28 + 7  # and shapes 0, 9, ..., 54
    assert names["decreasing_shape_distance"].failed == 9  # shapes 0, 7, ..., 56
    assert names["single_shape_point"].failed == 1 and names["single_shape_point"].passed == 60
    assert names["decreasing_or_equal_stop_time_distance"].failed == 24
    assert names["coherence.stop_times.arrival_before_departure"].failed == 18
    assert names["unusable_trip"].failed == 1 and names["unusable_trip"].passed == 301  # T1000; T0-T299 and X1
    assert names["unused_trip"].failed == 1  # T1001
    # More failures than examples kept: the reservoirs replaced examples across buckets, alike.
    assert names["stop_time_with_arrival_before_previous_departure_time"].failed > MAX_EXAMPLES


def _held(path: Path, spill: RowSpill | None) -> tuple[int, int]:
    """Bytes allocated (tracemalloc: numpy arrays included) once stop_times.txt is scanned, and
    at the peak of its per-trip rules (the bucket files read then)."""
    feed = read_gtfs_frames(path, chunk_rows=5_000)
    findings = Findings()
    tracemalloc.start()
    try:
        scan = stop_times.scan_stop_times(feed, findings, spill=spill)
        after_scan = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        stop_times.trip_rules(feed, scan, findings)
        rules_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return after_scan, rules_peak


def test_spilling_bounds_what_the_per_trip_rules_hold(tmp_path: Path) -> None:
    """On 80,000 stop times, the in-memory path holds every row's columns after the scan and their
    sorted copy during the per-trip rules; spilled past 8,000 rows it holds at most a bucket's."""
    feed = _feed(tmp_path / "large.zip", trips=2_000, stops_per_trip=40, defects=False)
    whole_scan, whole_rules = _held(feed, None)
    spill = stop_times.stop_times_spill(tmp_path, 8_000)
    spilled_scan, spilled_rules = _held(feed, spill)
    assert spill.bucket_count == 10
    assert whole_scan > 80_000 * 22 and whole_rules > 80_000 * 50  # 22 bytes a stop time, and the sorted copy
    assert spilled_scan < whole_scan / 4, (spilled_scan, whole_scan)
    assert spilled_rules < whole_rules / 4, (spilled_rules, whole_rules)
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".rows"]  # bucket files removed once read
