"""GTFS data-quality checks on one feed zip (pure: no Dagster), built on the quality framework.

Families (the Dagster layer surfaces one asset check per family):
- schema: required files, row widths, and one pandera schema per GTFS file (required columns,
  codes, lat/lon ranges, route_type with the extended 100-1702 codes, times past 24:00, dates,
  colours, URL/email/timezone/language formats), validated lazily with failure cases as examples;
- reference: stop_times -> trips -> routes -> agency, stop_times -> stops, trips -> service ids
  of calendar/calendar_dates, stops -> parent stations, trips -> shapes;
- coherence (item): stop sequences increasing, arrival <= departure, times non-decreasing along
  a trip, at least two stops per trip;
- dataset: unique ids (pandera `unique`), trips per route (share in the examples), no orphan stops,
  no two stops at the same place;
- time_based (against the previous export): stop and route ids persisting above 95%, validity
  period not ending earlier than before.

Every check returns the framework's CheckResult; a feed that cannot be read at all gives one
failing `schema.feed.readable` result instead of an exception.

Memory: stop_times.txt and shapes.txt (the tables that grow with the timetable) are read in
chunks of `chunk_rows` rows, in one pass that feeds every check needing them; only one chunk's
text is held at a time. What is kept for all stop times is what the per-trip checks must see
together: a trip number, the stop_sequence and two times per row (28 bytes), plus the set of
served stop ids. The other tables grow with stops, routes, trips and services and are read whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from platform_assets.lib.gtfs.reader import DEFAULT_CHUNK_ROWS, GtfsFrames, read_gtfs_frames
from platform_assets.lib.quality.result import (
    FAILED,
    PASSED,
    CheckResult,
    Level,
    Outcome,
)
from platform_assets.lib.quality.tally import Tally
from platform_assets.lib.quality.time_based.persistence import DEFAULT_SHARE
from platform_assets.quality.gtfs.coherence import coherence_results
from platform_assets.quality.gtfs.common import result_of as _result
from platform_assets.quality.gtfs.dataset import dataset_results
from platform_assets.quality.gtfs.references import reference_results
from platform_assets.quality.gtfs.scan import StreamedScan
from platform_assets.quality.gtfs.schema import schema_results
from platform_assets.quality.gtfs.time_based import time_results

FAMILIES = ("schema", "reference", "coherence", "dataset", "time_based")


# -- everything ------------------------------------------------------------------------------------
@dataclass
class FeedReport:
    """What the checks found on one feed: its results and how many rows it has."""

    name: str
    results: list[CheckResult]
    rows: int

    def by_name(self) -> dict[str, CheckResult]:
        return {result.name: result for result in self.results}

    def failing(self) -> list[str]:
        return sorted(result.name for result in self.results if not result.ok)


def family_of(name: str, _level: Level | None = None) -> str:
    """The Dagster check a framework check belongs to (its name's first part)."""
    family = name.split(".", 1)[0]
    return family if family in FAMILIES else "schema"


def _unreadable(feed: GtfsFrames) -> CheckResult:
    name = "schema.feed.readable"
    tally = Tally(name)
    if feed.error:
        tally.add_one(Outcome.FAILED, {"item": feed.name, "error": feed.error})
    else:
        files = sorted(set(feed.frames) | set(feed.streamed) | set(feed.unreadable))
        tally.add(np.asarray([FAILED if f in feed.unreadable else PASSED for f in files], dtype=np.int8),
                  lambda i: {"item": files[i], **({"error": feed.unreadable[files[i]]} if files[i] in feed.unreadable else {})})
    return _result(name, Level.FIELD, "the zip and its files can be read", tally)




def check_feed(
    path: str | Path,
    previous_path: str | Path | None = None,
    threshold: float = DEFAULT_SHARE,
    seed: int = 0,
    name: str | None = None,
    chunk_rows: int | None = DEFAULT_CHUNK_ROWS,
) -> FeedReport:
    """Run every GTFS check on a feed zip (and the time-based ones against `previous_path`).
    stop_times.txt and shapes.txt are read once, `chunk_rows` rows at a time (None: all at once)."""
    feed = read_gtfs_frames(path, name, chunk_rows)
    results: list[CheckResult] = []
    if not feed.error:
        scan = StreamedScan(feed, seed).run()
        previous = read_gtfs_frames(previous_path, chunk_rows=chunk_rows) if previous_path is not None else None
        if previous is not None and previous.error:
            previous = None
        results += schema_results(feed, scan, seed)
        results += reference_results(feed, scan)
        results += coherence_results(scan, seed)
        results += dataset_results(feed, scan, seed)
        results += time_results(feed, previous, threshold, seed)
    return FeedReport(feed.name, [_unreadable(feed), *results], feed.rows())
