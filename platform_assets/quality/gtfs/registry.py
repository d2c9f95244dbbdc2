"""Every GTFS rule, in report order, and `check_feed` running them on one feed zip (pure: no Dagster).

The rules are named by the MobilityData gtfs-validator notice they implement (`notices.RULES`,
declared by one module per rule group: `schema` (files and fields), `stop_times` and `shapes`
(scanned columnar in bounded Arrow batches), `entities` (stops, routes, agency, calendar,
feed_info, frequencies); their severity is MobilityData's. The project's own checks, with no
MobilityData notice, keep dotted names: `coherence.stop_times.arrival_before_departure`,
`dataset.routes.trips_share`, `dataset.stops.close_pairs` (informational) and the `time_based`
ones against the previous export. A feed that cannot be read at all gives a failing
`csv_parsing_failed` instead of an exception.

Memory: stop_times.txt and shapes.txt are read `chunk_rows` rows at a time; what the per-trip
and per-shape rules must see together (22 bytes a stop time, 40 a shape point) is held in memory
up to `spill_rows` rows, then spilled to disk and split into buckets of whole trips (shapes),
checked one bucket at a time (in trip order, so with the same results; `spill.py`). The other tables grow with stops, routes, trips and services
and are read whole.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from platform_assets.lib.gtfs.errors import FeedError
from platform_assets.lib.gtfs.reader import DEFAULT_CHUNK_ROWS, read_gtfs_frames
from platform_assets.lib.quality.result import CheckResult, Level
from platform_assets.lib.quality.time_based.persistence import DEFAULT_SHARE
from platform_assets.quality.gtfs import (
    blocks,
    booking,
    entities,
    fares,
    locations,
    schema,
    shapes,
    stations,
    stop_times,
    warnings,
)
from platform_assets.quality.gtfs.common import result_of
from platform_assets.quality.gtfs.dataset import close_stops, trips_per_route
from platform_assets.quality.gtfs.families import FAMILIES
from platform_assets.quality.gtfs.notices import RULES, Findings
from platform_assets.quality.gtfs.spill import RowSpill
from platform_assets.quality.gtfs.time_based import time_results


@dataclass
class FeedReport:
    """What the checks found on one feed: its results and how many rows it has."""

    name: str
    results: list[CheckResult]
    rows: int
    spilled_buckets: int = 0  # bucket files the per-trip and per-shape rules read (0: all held in memory)

    def by_name(self) -> dict[str, CheckResult]:
        return {result.name: result for result in self.results}

    def failing(self) -> list[str]:
        return sorted(result.name for result in self.results if not result.ok)


def arrival_after_departure(found: dict) -> CheckResult:
    """A stop time's arrival is not after its departure (the project's own; n/a without both),
    tallied by `stop_times.trip_rules` on the sorted stop times."""
    return result_of(stop_times.COHERENCE, Level.ITEM, "a stop time's arrival is not after its departure", found["arrival_after_departure"])


def check_feed(
    path: str | Path,
    previous_path: str | Path | None = None,
    threshold: float = DEFAULT_SHARE,
    seed: int = 0,
    name: str | None = None,
    chunk_rows: int | None = DEFAULT_CHUNK_ROWS,
    today: date | None = None,
    spill_rows: int | None = stop_times.DEFAULT_SPILL_ROWS,
    work_folder: str | Path | None = None,
) -> FeedReport:
    """Run every GTFS rule on a feed zip (and the time-based ones against `previous_path`).
    stop_times.txt and shapes.txt are read once, about `chunk_rows` rows at a time (None: whole);
    past `spill_rows` stop times (None: never), their per-trip columns wait on disk in a temporary
    folder under `work_folder` (None: the system's), removed on return."""
    if spill_rows is None:
        return _check_feed(path, previous_path, threshold, seed, name, chunk_rows, today, None, None)
    with tempfile.TemporaryDirectory(prefix="gtfs-spill-", dir=work_folder) as folder:
        return _check_feed(path, previous_path, threshold, seed, name, chunk_rows, today,
                           stop_times.stop_times_spill(Path(folder), spill_rows), shapes.shapes_spill(Path(folder), spill_rows))


def _check_feed(path: str | Path, previous_path: str | Path | None, threshold: float, seed: int, name: str | None,
                chunk_rows: int | None, today: date | None, spill: RowSpill | None, shapes_spill: RowSpill | None) -> FeedReport:
    feed = read_gtfs_frames(path, name, chunk_rows)
    findings = Findings(seed)
    results: list[CheckResult] = []
    if feed.error:
        findings.fail(schema.CSV_PARSING, {"item": feed.name, "error": feed.error})
        return FeedReport(feed.name, findings.results(), 0)
    schema.file_rules(feed, findings)
    schema.schema_rules(feed, findings, seed)
    geojson_ids = locations.zip_rules(feed.path or path, findings)
    try:
        scan = stop_times.scan_stop_times(feed, findings, stations.transfer_trips(feed), stations.translation_trips(feed), spill)
    except FeedError as error:  # rare after the reader's pre-read: the file is reported unreadable
        feed.unreadable["stop_times.txt"] = str(error)
        findings.fail(schema.CSV_PARSING, {"item": "stop_times.txt", "error": str(error)})
        scan = stop_times.StopTimesScan()
    found = stop_times.trip_rules(feed, scan, findings)
    farthest: dict[str, tuple[float, float, float]] = {}
    try:
        shape_ids = shapes.scan_shapes(feed, findings, farthest, shapes_spill)
    except FeedError as error:
        findings.fail(schema.CSV_PARSING, {"item": "shapes.txt", "error": str(error)})
        shape_ids = set()
    shapes.trip_distance_rules(feed, findings, found["last_stops"], scan.trip_names, scan.stop_names, farthest)
    blocks.block_rules(feed, findings, found["trip_edges"], scan.trip_names)
    entities.stop_rules(feed, findings, scan.served_stops, scan.served_groups)
    entities.route_rules(feed, findings)
    entities.trip_references(feed, findings, shape_ids)
    entities.calendar_rules(feed, findings, today or date.today())
    booking.booking_rules(feed, findings)
    fares.fare_rules(feed, findings)
    stations.station_rules(feed, findings, scan.trip_stops, geojson_ids)
    stations.translation_rules(feed, findings, scan.trip_sequences)
    warnings.warning_rules(feed, findings)
    previous = read_gtfs_frames(previous_path, chunk_rows=chunk_rows) if previous_path is not None else None
    if previous is not None and previous.error:
        previous = None
    results = [*findings.results(), arrival_after_departure(found), trips_per_route(feed, seed), close_stops(feed, seed),
               *time_results(feed, previous, threshold, seed)]
    return FeedReport(feed.name, results, feed.rows(), found["spilled_buckets"] + (shapes_spill.bucket_count if shapes_spill else 0))


def family_of(name: str, _level: Level | None = None) -> str:
    """The Dagster check a result belongs to: its rule group, else its name's first part."""
    if name in RULES:
        return RULES[name].group
    family = name.split(".", 1)[0]
    return family if family in FAMILIES else "dataset"


def severity_of(name: str) -> str:
    """MobilityData's severity of a rule (the project's own checks: WARNING; close pairs: INFO)."""
    if name in RULES:
        return RULES[name].severity
    return "INFO" if name == "dataset.stops.close_pairs" else "WARNING"
