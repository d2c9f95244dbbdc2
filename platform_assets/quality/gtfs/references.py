"""Reference rules: every foreign key of a GTFS table names a row of its target table."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from platform_assets.lib.gtfs.reader import GtfsFrames
from platform_assets.lib.quality.batch import FrameBatch
from platform_assets.lib.quality.check import short
from platform_assets.lib.quality.dataset.foreign_key import foreign_key
from platform_assets.lib.quality.result import (
    FAILED,
    NOT_APPLICABLE,
    PASSED,
    CheckResult,
    Level,
    Outcome,
)
from platform_assets.lib.quality.tally import Tally
from platform_assets.quality.gtfs.common import keys_of as _keys
from platform_assets.quality.gtfs.common import result_of as _result

if TYPE_CHECKING:
    from platform_assets.quality.gtfs.scan import StreamedScan

# -- references ----------------------------------------------------------------------------------


class Reference:
    """Every value of table.column is a key of the target, fed one frame (or chunk) at a time; not
    applicable when no target file is in the feed (the missing file is reported once, by
    schema.feed.required_files)."""

    def __init__(self, feed: GtfsFrames, table: str, column: str, keys: set[str], target: str, target_files: tuple[str, ...]) -> None:
        self.table = table
        self.column = column
        self.target = target
        self.check = foreign_key(column, keys, target, name=f"reference.{table.removesuffix('.txt')}.{column}")
        self.applicable = any(feed.has(f) for f in target_files)
        self.reason = f"{' and '.join(target_files)} missing"
        self.evaluator = self.check.evaluator(0)
        self.not_applicable = 0
        self.seen = False

    def update(self, frame: pd.DataFrame, offset: int = 0) -> None:
        if self.column not in frame.columns:
            return
        self.seen = True
        if self.applicable:
            self.evaluator.update(FrameBatch(frame, None, offset, self.table.removesuffix(".txt")))
        else:
            self.not_applicable += int(frame[self.column].notna().sum())

    def result(self) -> CheckResult:
        if self.seen and not self.applicable:
            result = CheckResult(self.check.name, Level.DATASET, self.check.description, not_applicable=self.not_applicable)
            if result.not_applicable:
                result.examples = {Outcome.NOT_APPLICABLE: [{"item": self.table, "path": self.column, "reason": self.reason}]}
            result.meta = {"path": self.column, "target": self.target, "reason": self.reason, "table": self.table}
            return result
        result = self.evaluator.finish(False)
        result.meta["table"] = self.table
        return result


def _reference(feed: GtfsFrames, table: str, column: str, keys: set[str], target: str, target_files: tuple[str, ...]) -> CheckResult:
    """A reference from one of the tables read whole."""
    reference = Reference(feed, table, column, keys, target, target_files)
    frame = feed.frame(table)
    if frame is not None:
        reference.update(frame)
    return reference.result()


def _agency_reference(feed: GtfsFrames) -> CheckResult:
    """routes.agency_id names an agency; it may be empty only when the feed has one agency."""
    name = "reference.routes.agency_id"
    tally = Tally(name)
    routes = feed.frame("routes.txt")
    agencies = feed.frame("agency.txt")
    agency_count = 0 if agencies is None else len(agencies)
    keys = _keys(feed.column("agency.txt", "agency_id"))
    if agencies is None or not len(agencies.columns):
        if routes is not None and len(routes):
            tally.add(np.full(len(routes), NOT_APPLICABLE, dtype=np.int8), lambda i: {"item": f"routes:{i + 2}", "reason": "agency.txt missing"})
    elif routes is not None and len(routes):
        values = routes["agency_id"] if "agency_id" in routes.columns else pd.Series([np.nan] * len(routes), index=routes.index)
        empty = values.isna().to_numpy()
        known = values.isin(keys).to_numpy()
        outcomes = np.where(known, PASSED, FAILED).astype(np.int8)
        outcomes[empty] = NOT_APPLICABLE if agency_count <= 1 else FAILED
        ids = routes["route_id"].tolist() if "route_id" in routes.columns else [f"routes:{i + 2}" for i in range(len(routes))]
        tally.add(outcomes, lambda i: {"item": str(ids[i]), "path": "agency_id", "value": short(values.iat[i]),
                                       **({"reason": "empty with several agencies"} if empty[i] else {})})
    return _result(name, Level.DATASET, "every routes.agency_id is an agency.agency_id (optional with one agency)",
                   tally, target="agency.agency_id", agencies=agency_count)


def stop_times_references(feed: GtfsFrames) -> list[Reference]:
    """The references from stop_times.txt, fed by the streamed scan."""
    return [
        Reference(feed, "stop_times.txt", "trip_id", _keys(feed.column("trips.txt", "trip_id")), "trips.trip_id", ("trips.txt",)),
        Reference(feed, "stop_times.txt", "stop_id", _keys(feed.column("stops.txt", "stop_id")), "stops.stop_id", ("stops.txt",)),
    ]


def reference_results(feed: GtfsFrames, scan: StreamedScan) -> list[CheckResult]:
    stops = feed.frame("stops.txt")
    stations: set[str] = set()
    if stops is not None and "stop_id" in stops.columns and "location_type" in stops.columns:
        stations = _keys(stops.loc[stops["location_type"] == "1", "stop_id"])
    trip_ids = _keys(feed.column("trips.txt", "trip_id"))
    results = [
        *(reference.result() for reference in scan.stop_time_references),
        _reference(feed, "trips.txt", "route_id", _keys(feed.column("routes.txt", "route_id")), "routes.route_id", ("routes.txt",)),
        _reference(feed, "trips.txt", "service_id",
                   _keys(feed.column("calendar.txt", "service_id"), feed.column("calendar_dates.txt", "service_id")),
                   "calendar/calendar_dates service_id", ("calendar.txt", "calendar_dates.txt")),
        _agency_reference(feed),
        _reference(feed, "stops.txt", "parent_station", stations, "a station (stops.location_type 1)", ("stops.txt",)),
        _reference(feed, "frequencies.txt", "trip_id", trip_ids, "trips.trip_id", ("trips.txt",)),
    ]
    if "shapes.txt" in feed.streamed:
        results.append(_reference(feed, "trips.txt", "shape_id", scan.shape_ids, "shapes.shape_id", ("shapes.txt",)))
    return results


