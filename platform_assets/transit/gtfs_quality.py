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
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

import numpy as np
import pandas as pd
import pandera.pandas as pa

from platform_assets.quality.dataset.foreign_key import foreign_key
from platform_assets.quality.framework.batch import FrameBatch
from platform_assets.quality.framework.check import score_of, short
from platform_assets.quality.framework.result import (
    FAILED,
    NOT_APPLICABLE,
    PASSED,
    CheckResult,
    Level,
    Outcome,
)
from platform_assets.quality.framework.runner import run_checks
from platform_assets.quality.framework.tally import Tally
from platform_assets.quality.pandera_checks import pandera_results
from platform_assets.quality.time_based.persistence import DEFAULT_SHARE, persistence
from platform_assets.transit.errors import FeedError
from platform_assets.transit.gtfs import Feed, Table, decode_text
from platform_assets.transit.validity import ValidityPeriod, feed_validity_period

FAMILIES = ("schema", "reference", "coherence", "dataset", "time_based")
STOPS_TOO_CLOSE_METRES = 2.0  # transitfeed's "duplicate stop" distance

# -- reading -----------------------------------------------------------------------------------


@dataclass
class GtfsFrames:
    """The feed's tables as text DataFrames (empty cells are NaN), plus what reading found."""

    name: str
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    widths: dict[str, tuple[int, np.ndarray]] = field(default_factory=dict)  # file -> (header cells, cells per row)
    unreadable: dict[str, str] = field(default_factory=dict)  # file -> error
    error: str = ""  # the whole zip cannot be read

    def frame(self, name: str) -> pd.DataFrame | None:
        return self.frames.get(name)

    def column(self, table: str, column: str) -> pd.Series:
        frame = self.frames.get(table)
        if frame is None or column not in frame.columns:
            return pd.Series([], dtype=object)
        return frame[column]

    def rows(self) -> int:
        return sum(len(frame) for frame in self.frames.values())

    def as_feed(self) -> Feed:
        """A transit Feed of the same tables (for the validity period rules)."""
        feed = Feed(self.name)
        for name, frame in self.frames.items():
            rows = frame.fillna("").astype(str).values.tolist()
            feed.tables[name] = Table(name, list(frame.columns), rows)
        return feed


def _frame_of(text: str) -> tuple[pd.DataFrame, int, np.ndarray]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[list[str]] = []
    widths: list[int] = []
    for row in reader:
        if not row or all(not cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip().lstrip("\ufeff") for cell in row]
            continue
        widths.append(len(row))
        width = len(header)
        rows.append((row + [""] * width)[:width])
    header = header or []
    # Duplicate header names would make pandas columns ambiguous: keep the first, mark the others.
    seen: dict[str, int] = {}
    for position, name in enumerate(header):
        if name in seen:
            header[position] = f"{name}#{position}"
        seen.setdefault(name, position)
    frame = pd.DataFrame(rows, columns=header, dtype=object) if header else pd.DataFrame()
    if len(frame.columns):
        frame = frame.apply(lambda column: column.str.strip().mask(column.str.strip() == "", np.nan))
    return frame, len(header), np.asarray(widths, dtype=np.int64)


def read_gtfs_frames(path: str | Path, name: str | None = None) -> GtfsFrames:
    """Read every `.txt` file of a GTFS zip as text; unreadable files and zips are recorded, not raised."""
    path = Path(path)
    feed = GtfsFrames(name or path.name)
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        feed.error = f"{feed.name}: not a readable zip archive ({error})"
        return feed
    with archive:
        for info in archive.infolist():
            base = info.filename.rsplit("/", 1)[-1]
            if info.is_dir() or not base.lower().endswith(".txt"):
                continue
            try:
                text = decode_text(archive.read(info), f"{feed.name}/{info.filename}", [])
                frame, header_width, widths = _frame_of(text)
            except (FeedError, csv.Error, zipfile.BadZipFile, OSError, NotImplementedError) as error:
                feed.unreadable[base] = str(error)
                continue
            feed.frames[base] = frame
            feed.widths[base] = (header_width, widths)
    return feed


# -- schema (pandera) ----------------------------------------------------------------------------
TIME = r"^\d{1,3}:[0-5]\d:[0-5]\d$"  # hours past 24 are valid (trips after midnight)
DECIMAL = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"
INTEGER = r"^-?\d+$"
COLOUR = r"^[0-9A-Fa-f]{6}$"
URL = r"^https?://[^\s]+$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
LANGUAGE = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$"
BASIC_ROUTE_TYPES = frozenset({0, 1, 2, 3, 4, 5, 6, 7, 11, 12})
EXTENDED_ROUTE_TYPES = (100, 1702)  # the Google "extended route types" (HVT codes), 100..1702


def _matches(pattern: str, label: str) -> pa.Check:
    return pa.Check.str_matches(pattern, error=label)


def _codes(values: list[str], label: str = "codelist") -> pa.Check:
    return pa.Check.isin(values, error=label)


def _in_range(low: float, high: float) -> pa.Check:
    return pa.Check(lambda s: pd.to_numeric(s, errors="coerce").between(low, high), error=f"in_range({low}, {high})")


def _route_type_ok(values: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    integral = values.astype(str).str.fullmatch(INTEGER)
    low, high = EXTENDED_ROUTE_TYPES
    return integral & (numbers.isin(BASIC_ROUTE_TYPES) | numbers.between(low, high))


def _date_ok(values: pd.Series) -> pd.Series:
    text = values.astype(str)
    return text.str.fullmatch(r"\d{8}") & pd.to_datetime(text, format="%Y%m%d", errors="coerce").notna()


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def _timezone_ok(values: pd.Series) -> pd.Series:
    return values.isin(_timezones())


DATE = pa.Check(_date_ok, error="date_format")
TIMEZONE = pa.Check(_timezone_ok, error="timezone")


def _col(*checks: pa.Check, required: bool = True, nullable: bool = True, unique: bool = False) -> pa.Column:
    return pa.Column(None, list(checks), required=required, nullable=nullable, unique=unique)


def _opt(*checks: pa.Check) -> pa.Column:
    return _col(*checks, required=False)


def _key(unique: bool = False, required: bool = True) -> pa.Column:
    return _col(required=required, nullable=False, unique=unique)


BINARY = ["0", "1"]

SCHEMAS: dict[str, tuple[pa.DataFrameSchema, str | None]] = {
    "agency.txt": (pa.DataFrameSchema({
        "agency_id": _col(required=False, unique=True),
        "agency_name": _key(),
        "agency_url": _col(_matches(URL, "url_format"), nullable=False),
        "agency_timezone": _col(TIMEZONE, nullable=False),
        "agency_lang": _opt(_matches(LANGUAGE, "language")),
        "agency_fare_url": _opt(_matches(URL, "url_format")),
        "agency_email": _opt(_matches(EMAIL, "email_format")),
    }, name="agency"), "agency_id"),
    "stops.txt": (pa.DataFrameSchema({
        "stop_id": _key(unique=True),
        "stop_name": _col(),
        "stop_lat": _col(_matches(DECIMAL, "decimal"), _in_range(-90, 90)),
        "stop_lon": _col(_matches(DECIMAL, "decimal"), _in_range(-180, 180)),
        "stop_url": _opt(_matches(URL, "url_format")),
        "location_type": _opt(_codes(["0", "1", "2", "3", "4"])),
        "stop_timezone": _opt(TIMEZONE),
        "wheelchair_boarding": _opt(_codes(["0", "1", "2"])),
    }, name="stops"), "stop_id"),
    "routes.txt": (pa.DataFrameSchema({
        "route_id": _key(unique=True),
        "agency_id": _opt(),
        "route_short_name": _col(required=False),
        "route_long_name": _col(required=False),
        "route_type": _col(pa.Check(_route_type_ok, error="route_type_code"), nullable=False),
        "route_url": _opt(_matches(URL, "url_format")),
        "route_color": _opt(_matches(COLOUR, "colour_format")),
        "route_text_color": _opt(_matches(COLOUR, "colour_format")),
        "route_sort_order": _opt(_matches(r"^\d+$", "non_negative_integer")),
    }, name="routes"), "route_id"),
    "trips.txt": (pa.DataFrameSchema({
        "route_id": _key(),
        "service_id": _key(),
        "trip_id": _key(unique=True),
        "direction_id": _opt(_codes(BINARY)),
        "wheelchair_accessible": _opt(_codes(["0", "1", "2"])),
        "bikes_allowed": _opt(_codes(["0", "1", "2"])),
    }, name="trips"), "trip_id"),
    "stop_times.txt": (pa.DataFrameSchema({
        "trip_id": _key(),
        "arrival_time": _col(_matches(TIME, "time_format")),
        "departure_time": _col(_matches(TIME, "time_format")),
        "stop_id": _key(),
        "stop_sequence": _col(_matches(r"^\d+$", "non_negative_integer"), nullable=False),
        "pickup_type": _opt(_codes(["0", "1", "2", "3"])),
        "drop_off_type": _opt(_codes(["0", "1", "2", "3"])),
        "timepoint": _opt(_codes(BINARY)),
        "shape_dist_traveled": _opt(_matches(DECIMAL, "decimal"), _in_range(0, math.inf)),
    }, name="stop_times"), None),
    "calendar.txt": (pa.DataFrameSchema({
        "service_id": _key(unique=True),
        **{day: _col(_codes(BINARY), nullable=False) for day in
           ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")},
        "start_date": _col(DATE, nullable=False),
        "end_date": _col(DATE, nullable=False),
    }, name="calendar"), "service_id"),
    "calendar_dates.txt": (pa.DataFrameSchema({
        "service_id": _key(),
        "date": _col(DATE, nullable=False),
        "exception_type": _col(_codes(["1", "2"]), nullable=False),
    }, name="calendar_dates"), None),
    "frequencies.txt": (pa.DataFrameSchema({
        "trip_id": _key(),
        "start_time": _col(_matches(TIME, "time_format"), nullable=False),
        "end_time": _col(_matches(TIME, "time_format"), nullable=False),
        "headway_secs": _col(_matches(r"^\d+$", "non_negative_integer"), nullable=False),
        "exact_times": _opt(_codes(BINARY)),
    }, name="frequencies"), None),
    "feed_info.txt": (pa.DataFrameSchema({
        "feed_publisher_name": _key(),
        "feed_publisher_url": _col(_matches(URL, "url_format"), nullable=False),
        "feed_lang": _col(_matches(LANGUAGE, "language"), nullable=False),
        "feed_start_date": _opt(DATE),
        "feed_end_date": _opt(DATE),
        "feed_contact_email": _opt(_matches(EMAIL, "email_format")),
        "feed_contact_url": _opt(_matches(URL, "url_format")),
    }, name="feed_info"), None),
}

REQUIRED_FILES = ("agency.txt", "stops.txt", "routes.txt", "trips.txt", "stop_times.txt")


def _named(result: CheckResult, family: str) -> CheckResult:
    result.name = f"{family}.{result.name}"
    return result


def _result(name: str, level: Level, description: str, tally: Tally, **meta: Any) -> CheckResult:
    result = score_of(tally.result(name, level, description))
    result.meta.update(meta)
    return result


def required_files(feed: GtfsFrames) -> CheckResult:
    """Each required file is present with a header; a calendar or calendar_dates file is present."""
    name = "schema.feed.required_files"
    tally = Tally(name)
    wanted = [*REQUIRED_FILES, "calendar.txt|calendar_dates.txt"]
    outcomes = np.empty(len(wanted), dtype=np.int8)
    reasons: list[str] = []
    for position, wanted_file in enumerate(wanted):
        options = wanted_file.split("|")
        present = [f for f in options if f in feed.frames and len(feed.frames[f].columns)]
        unreadable = [f for f in options if f in feed.unreadable]
        empty = [f for f in options if f in feed.frames and not len(feed.frames[f].columns)]
        outcomes[position] = PASSED if present else FAILED
        reasons.append("present" if present else f"unreadable: {feed.unreadable[unreadable[0]]}" if unreadable
                       else "empty file (no header)" if empty else "missing")
    tally.add(outcomes, lambda i: {"item": wanted[i], "status": reasons[i]})
    return _result(name, Level.FIELD, "the required GTFS files are present and readable", tally)


def row_widths(feed: GtfsFrames) -> CheckResult:
    """No row has more cells than its file's header (the extra cells would be dropped)."""
    name = "schema.feed.row_width"
    tally = Tally(name)
    for table, (header_width, widths) in sorted(feed.widths.items()):
        if not len(widths):
            continue
        # Short rows are common and harmless (missing trailing optional cells): only extra cells fail.
        outcomes = np.where(widths <= header_width, PASSED, FAILED).astype(np.int8)
        tally.add(outcomes, lambda i, table=table, widths=widths, header_width=header_width: {
            "item": f"{table}:{i + 2}", "cells": int(widths[i]), "header_cells": header_width})
    return _result(name, Level.FIELD, "no row has more cells than the header", tally)


def schema_results(feed: GtfsFrames, seed: int = 0) -> list[CheckResult]:
    results = [required_files(feed), row_widths(feed)]
    for file_name, (schema, id_column) in SCHEMAS.items():
        frame = feed.frame(file_name)
        if frame is None or not len(frame.columns):
            continue
        for result in pandera_results(schema, frame, table=schema.name, id_column=id_column, seed=seed):
            results.append(_named(result, "dataset" if result.level == Level.DATASET else "schema"))
    return results


# -- references ----------------------------------------------------------------------------------
def _keys(*columns: pd.Series) -> set[str]:
    keys: set[str] = set()
    for column in columns:
        keys.update(str(value) for value in column.dropna().unique())
    return keys


def _reference(feed: GtfsFrames, table: str, column: str, keys: set[str], target: str, target_files: tuple[str, ...]) -> CheckResult:
    """Every value of table.column is a key of the target; not applicable when no target file is
    in the feed (the missing file is reported once, by schema.feed.required_files)."""
    name = f"reference.{table.removesuffix('.txt')}.{column}"
    check = foreign_key(column, keys, target, name=name)
    frame = feed.frame(table)
    batches = [] if frame is None or column not in frame.columns else [FrameBatch(frame, None, 0, table.removesuffix(".txt"))]
    if batches and not any(f in feed.frames and len(feed.frames[f].columns) for f in target_files):
        values = frame[column]  # type: ignore[index]
        result = CheckResult(name, Level.DATASET, check.description, not_applicable=int(values.notna().sum()))
        reason = f"{' and '.join(target_files)} missing"
        result.examples = {Outcome.NOT_APPLICABLE: [{"item": table, "path": column, "reason": reason}]} if result.not_applicable else {}
        result.meta = {"path": column, "target": target, "reason": reason, "table": table}
        return result
    (result,) = run_checks([check], batches)
    result.meta["table"] = table
    return result


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


def reference_results(feed: GtfsFrames) -> list[CheckResult]:
    stops = feed.frame("stops.txt")
    stations: set[str] = set()
    if stops is not None and "stop_id" in stops.columns and "location_type" in stops.columns:
        stations = _keys(stops.loc[stops["location_type"] == "1", "stop_id"])
    trip_ids = _keys(feed.column("trips.txt", "trip_id"))
    results = [
        _reference(feed, "stop_times.txt", "trip_id", trip_ids, "trips.trip_id", ("trips.txt",)),
        _reference(feed, "stop_times.txt", "stop_id", _keys(feed.column("stops.txt", "stop_id")), "stops.stop_id", ("stops.txt",)),
        _reference(feed, "trips.txt", "route_id", _keys(feed.column("routes.txt", "route_id")), "routes.route_id", ("routes.txt",)),
        _reference(feed, "trips.txt", "service_id",
                   _keys(feed.column("calendar.txt", "service_id"), feed.column("calendar_dates.txt", "service_id")),
                   "calendar/calendar_dates service_id", ("calendar.txt", "calendar_dates.txt")),
        _agency_reference(feed),
        _reference(feed, "stops.txt", "parent_station", stations, "a station (stops.location_type 1)", ("stops.txt",)),
        _reference(feed, "frequencies.txt", "trip_id", trip_ids, "trips.trip_id", ("trips.txt",)),
    ]
    if "shapes.txt" in feed.frames:
        results.append(_reference(feed, "trips.txt", "shape_id", _keys(feed.column("shapes.txt", "shape_id")), "shapes.shape_id", ("shapes.txt",)))
    return results


# -- item-level coherence -------------------------------------------------------------------------
def seconds(times: pd.Series) -> np.ndarray:
    """H:MM:SS (hours may pass 24) as seconds; NaN when empty or malformed."""
    parts = times.astype(object).where(times.notna(), "").astype(str).str.split(":", n=2, expand=True)
    if parts.shape[1] < 3:
        return np.full(len(times), np.nan)
    hours, minutes, secs = (pd.to_numeric(parts[i], errors="coerce").to_numpy(float) for i in range(3))
    value = hours * 3600 + minutes * 60 + secs
    value[(minutes >= 60) | (secs >= 60) | (hours < 0) | (minutes < 0) | (secs < 0)] = np.nan
    return value


def _ordered_stop_times(feed: GtfsFrames) -> pd.DataFrame | None:
    frame = feed.frame("stop_times.txt")
    if frame is None or not {"trip_id", "stop_sequence"} <= set(frame.columns):
        return None
    ordered = pd.DataFrame({
        "line": np.arange(len(frame)) + 2,
        "trip_id": frame["trip_id"],
        "sequence": pd.to_numeric(frame["stop_sequence"], errors="coerce"),
        "arrival": seconds(frame["arrival_time"]) if "arrival_time" in frame.columns else np.nan,
        "departure": seconds(frame["departure_time"]) if "departure_time" in frame.columns else np.nan,
    })
    ordered = ordered[ordered["trip_id"].notna()]
    return ordered.sort_values(["trip_id", "sequence", "line"], kind="stable").reset_index(drop=True)


def _time_text(value: float) -> str | None:
    if value != value:
        return None
    value = int(value)
    return f"{value // 3600:02d}:{value // 60 % 60:02d}:{value % 60:02d}"


def coherence_results(feed: GtfsFrames, seed: int = 0) -> list[CheckResult]:
    ordered = _ordered_stop_times(feed)
    names = {
        "arrival": "coherence.stop_times.arrival_before_departure",
        "sequence": "coherence.trips.stop_sequence_increasing",
        "times": "coherence.trips.times_non_decreasing",
        "stops": "coherence.trips.at_least_two_stops",
    }
    tallies = {key: Tally(name, seed) for key, name in names.items()}
    if ordered is not None and len(ordered):
        # arrival <= departure on each stop time (n/a when a time is missing)
        arrival, departure = ordered["arrival"].to_numpy(float), ordered["departure"].to_numpy(float)
        both = ~np.isnan(arrival) & ~np.isnan(departure)
        outcomes = np.full(len(ordered), NOT_APPLICABLE, dtype=np.int8)
        outcomes[both] = np.where(arrival[both] <= departure[both], PASSED, FAILED)
        lines, trips = ordered["line"].to_numpy(), ordered["trip_id"].to_numpy()
        tallies["arrival"].add(outcomes, lambda i: {"item": f"stop_times:{lines[i]}", "trip_id": trips[i],
                                                    "arrival_time": _time_text(arrival[i]), "departure_time": _time_text(departure[i])})
        same_trip = np.r_[False, trips[1:] == trips[:-1]]
        sequence = ordered["sequence"].to_numpy(float)
        repeated = same_trip & (np.r_[np.nan, sequence[:-1]] >= sequence)  # sorted: equal means duplicated
        bad_sequence = np.isnan(sequence) | repeated
        # Times along the trip: each stop's time (arrival, else departure) >= the last known departure before it.
        time_here = np.where(np.isnan(arrival), departure, arrival)
        trip_groups = ordered["trip_id"]
        leaving = pd.Series(np.where(np.isnan(departure), arrival, departure))
        last_departure = leaving.groupby(trip_groups).shift(1).groupby(trip_groups).ffill().to_numpy(float)
        backwards = ~np.isnan(time_here) & ~np.isnan(last_departure) & (time_here < last_departure)
        per_trip = pd.DataFrame({"trip_id": trips, "bad_sequence": bad_sequence, "backwards": backwards}).groupby("trip_id", sort=True)
        summary = per_trip.agg(bad_sequence=("bad_sequence", "any"), backwards=("backwards", "any"), stops=("bad_sequence", "size"))
        first_bad = {key: {} for key in ("sequence", "times")}
        for flag, key in ((bad_sequence, "sequence"), (backwards, "times")):
            for position in np.flatnonzero(flag):
                first_bad[key].setdefault(trips[position], position)
        trip_ids = summary.index.to_numpy()

        def detail(key: str, trip: str) -> dict[str, Any]:
            position = first_bad[key].get(trip)
            if position is None:
                return {"item": str(trip)}
            example: dict[str, Any] = {"item": str(trip), "line": int(lines[position]), "stop_sequence": short(sequence[position])}
            if key == "times":
                example.update({"time": _time_text(time_here[position]), "previous_departure": _time_text(last_departure[position])})
            return example

        for key, column in (("sequence", "bad_sequence"), ("times", "backwards")):
            flags = summary[column].to_numpy(bool)
            tallies[key].add(np.where(flags, FAILED, PASSED).astype(np.int8), lambda i, key=key: detail(key, trip_ids[i]))
        counts = summary["stops"].to_numpy()
        tallies["stops"].add(np.where(counts >= 2, PASSED, FAILED).astype(np.int8),
                             lambda i: {"item": str(trip_ids[i]), "stop_times": int(counts[i])})
    return [
        _result(names["arrival"], Level.ITEM, "a stop time's arrival is not after its departure", tallies["arrival"]),
        _result(names["sequence"], Level.ITEM, "stop_sequence values of a trip are integers, strictly increasing", tallies["sequence"]),
        _result(names["times"], Level.ITEM, "times never go backwards along a trip (by stop_sequence)", tallies["times"]),
        _result(names["stops"], Level.ITEM, "a trip has at least two stop times", tallies["stops"]),
    ]


# -- dataset-level ---------------------------------------------------------------------------------
def trips_per_route(feed: GtfsFrames, seed: int = 0) -> CheckResult:
    """Each route has trips; the examples and meta give each route's share of the trips."""
    name = "dataset.routes.trips_share"
    tally = Tally(name, seed)
    route_ids = feed.column("routes.txt", "route_id").dropna().astype(str).tolist()
    counts = feed.column("trips.txt", "route_id").dropna().astype(str).value_counts()
    total = int(counts.sum())
    if route_ids:
        trips = np.asarray([int(counts.get(route, 0)) for route in route_ids])
        tally.add(np.where(trips > 0, PASSED, FAILED).astype(np.int8), lambda i: {
            "item": route_ids[i], "trips": int(trips[i]), "share": round(trips[i] / total, 4) if total else 0.0})
    shares = {route: round(int(count) / total, 4) for route, count in counts.head(50).items()} if total else {}
    return _result(name, Level.DATASET, "every route has trips (meta: share of trips per route)", tally,
                   trips=total, top_route_share=max(shares.values(), default=None), shares=shares)


def orphan_stops(feed: GtfsFrames, seed: int = 0) -> CheckResult:
    """Stops and platforms are served by a stop time; stations have a child stop; others are n/a."""
    name = "dataset.stops.no_orphans"
    tally = Tally(name, seed)
    stops = feed.frame("stops.txt")
    if stops is not None and "stop_id" in stops.columns and len(stops):
        served = _keys(feed.column("stop_times.txt", "stop_id"))
        parents = _keys(feed.column("stops.txt", "parent_station"))
        kind = stops["location_type"].fillna("0") if "location_type" in stops.columns else pd.Series("0", index=stops.index)
        ids = stops["stop_id"].astype(str)
        used = np.where(kind == "1", ids.isin(parents), ids.isin(served))
        outcomes = np.where(used, PASSED, FAILED).astype(np.int8)
        outcomes[~kind.isin(["0", "1"]).to_numpy()] = NOT_APPLICABLE
        names = stops["stop_name"] if "stop_name" in stops.columns else pd.Series([None] * len(stops))
        tally.add(outcomes, lambda i: {"item": ids.iat[i], "stop_name": short(names.iat[i]), "location_type": kind.iat[i]})
    return _result(name, Level.DATASET, "no stop is left unused (stops served by a trip, stations with a child)", tally)


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return 6_371_000 * math.hypot(x, y)


def distinct_stop_locations(feed: GtfsFrames, seed: int = 0, metres: float = STOPS_TOO_CLOSE_METRES) -> CheckResult:
    """No two stops of the same kind stand within `metres` of each other (duplicate stops), unless
    they are platforms of the same station."""
    name = "dataset.stops.distinct_locations"
    tally = Tally(name, seed)
    stops = feed.frame("stops.txt")
    if stops is not None and {"stop_id", "stop_lat", "stop_lon"} <= set(stops.columns) and len(stops):
        lat = pd.to_numeric(stops["stop_lat"], errors="coerce").to_numpy(float)
        lon = pd.to_numeric(stops["stop_lon"], errors="coerce").to_numpy(float)
        kind = (stops["location_type"].fillna("0") if "location_type" in stops.columns else pd.Series("0", index=stops.index)).to_numpy()
        parent = (stops["parent_station"] if "parent_station" in stops.columns else pd.Series(np.nan, index=stops.index)).to_numpy()
        ids = stops["stop_id"].astype(str).to_numpy()
        located = ~np.isnan(lat) & ~np.isnan(lon)
        order = np.argsort(np.where(located, lat, np.inf), kind="stable")
        window = metres / 111_000  # degrees of latitude
        close_to: dict[int, tuple[int, float]] = {}
        for rank, i in enumerate(order):
            if not located[i]:
                break
            for j in order[rank + 1 :]:
                if not located[j] or lat[j] - lat[i] > window:
                    break
                if kind[i] != kind[j] or (isinstance(parent[i], str) and parent[i] == parent[j]):
                    continue
                distance = _metres(lat[i], lon[i], lat[j], lon[j])
                if distance <= metres:
                    close_to.setdefault(int(i), (int(j), distance))
                    close_to.setdefault(int(j), (int(i), distance))
        outcomes = np.where(located, PASSED, NOT_APPLICABLE).astype(np.int8)
        outcomes[list(close_to)] = FAILED

        def example(i: int) -> dict[str, Any]:
            if i in close_to:
                j, distance = close_to[i]
                return {"item": ids[i], "near": ids[j], "metres": round(distance, 2)}
            return {"item": ids[i]}

        tally.add(outcomes, example)
    return _result(name, Level.DATASET, f"no two stops of the same kind within {metres:g} m (duplicate stops)", tally)


def dataset_results(feed: GtfsFrames, seed: int = 0) -> list[CheckResult]:
    return [trips_per_route(feed, seed), orphan_stops(feed, seed), distinct_stop_locations(feed, seed)]


# -- time-based ------------------------------------------------------------------------------------
def validity_of(feed: GtfsFrames) -> ValidityPeriod | None:
    try:
        return feed_validity_period(feed.as_feed())
    except FeedError:
        return None


def validity_not_shrinking(current: GtfsFrames, previous: GtfsFrames | None) -> CheckResult:
    """The validity period ends no earlier than the previous export's (a start moving later is normal)."""
    name = "time_based.validity.not_shrinking"
    result = CheckResult(name, Level.TIME, "the validity period does not end earlier than the previous export's")
    now = validity_of(current)
    before = validity_of(previous) if previous is not None else None
    result.meta = {"current": now.as_json() if now else None, "previous": before.as_json() if before else None}
    if now is None or before is None:
        result.not_applicable = 1
        reason = "no previous export" if previous is None else "no validity period to compare"
        result.examples = {Outcome.NOT_APPLICABLE: [{"item": "validity", "reason": reason}]}
        result.meta["reason"] = reason
        return result
    example = {"item": "validity", "previous": f"{before.start_date}..{before.end_date}", "current": f"{now.start_date}..{now.end_date}",
               "days_lost_at_end": max(0, (before.end_date - now.end_date).days)}
    if now.end_date >= before.end_date:
        result.passed, result.examples = 1, {Outcome.PASSED: [example]}
    else:
        result.failed, result.examples = 1, {Outcome.FAILED: [example]}
    return score_of(result)


def time_results(current: GtfsFrames, previous: GtfsFrames | None, threshold: float = DEFAULT_SHARE, seed: int = 0) -> list[CheckResult]:
    results = []
    for table, column in (("stops.txt", "stop_id"), ("routes.txt", "route_id")):
        check = persistence(column, name=f"time_based.{table.removesuffix('.txt')}.{column}.persistence", threshold=threshold)

        def batches(feed: GtfsFrames | None, table: str = table) -> list[FrameBatch]:
            frame = feed.frame(table) if feed is not None else None
            return [] if frame is None else [FrameBatch(frame, None, 0, table.removesuffix(".txt"))]

        (result,) = run_checks([check], batches(current), batches(previous) if previous is not None else None, seed)
        results.append(result)
    results.append(validity_not_shrinking(current, previous))
    return results


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
        files = sorted(set(feed.frames) | set(feed.unreadable))
        tally.add(np.asarray([FAILED if f in feed.unreadable else PASSED for f in files], dtype=np.int8),
                  lambda i: {"item": files[i], **({"error": feed.unreadable[files[i]]} if files[i] in feed.unreadable else {})})
    return _result(name, Level.FIELD, "the zip and its files can be read", tally)




def check_feed(
    path: str | Path,
    previous_path: str | Path | None = None,
    threshold: float = DEFAULT_SHARE,
    seed: int = 0,
    name: str | None = None,
) -> FeedReport:
    """Run every GTFS check on a feed zip (and the time-based ones against `previous_path`)."""
    feed = read_gtfs_frames(path, name)
    results = [_unreadable(feed)]
    if not feed.error:
        previous = read_gtfs_frames(previous_path) if previous_path is not None else None
        if previous is not None and previous.error:
            previous = None
        results += schema_results(feed, seed)
        results += reference_results(feed)
        results += coherence_results(feed, seed)
        results += dataset_results(feed, seed)
        results += time_results(feed, previous, threshold, seed)
    return FeedReport(feed.name, results, feed.rows())
