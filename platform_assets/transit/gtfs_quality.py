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

import csv
import io
import math
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

import numpy as np
import pandas as pd
import pandera.pandas as pa

from platform_assets.lib.gtfs.reader import Feed, Table, decode_text, streamed_encoding
from platform_assets.lib.gtfs.validity import ValidityPeriod, feed_validity_period
from platform_assets.lib.quality.batch import FrameBatch
from platform_assets.lib.quality.check import score_of, short
from platform_assets.lib.quality.dataset.foreign_key import foreign_key
from platform_assets.lib.quality.pandera_checks import pandera_results
from platform_assets.lib.quality.result import (
    FAILED,
    NOT_APPLICABLE,
    PASSED,
    CheckResult,
    Level,
    Outcome,
)
from platform_assets.lib.quality.runner import run_checks
from platform_assets.lib.quality.tally import Tally
from platform_assets.lib.quality.time_based.persistence import DEFAULT_SHARE, persistence
from platform_assets.transit.errors import FeedError

FAMILIES = ("schema", "reference", "coherence", "dataset", "time_based")
STOPS_TOO_CLOSE_METRES = 2.0  # transitfeed's "duplicate stop" distance

# -- reading -----------------------------------------------------------------------------------
DEFAULT_CHUNK_ROWS = 25_000  # measured: 25k-row chunks were the fastest and smallest of 25k/50k/100k
# Read in chunks: the tables that grow with the timetable (the largest by far in real feeds).
STREAMED_TABLES = frozenset({"stop_times.txt", "shapes.txt"})


@dataclass
class TableChunk:
    """Consecutive rows of one table as text (empty cells are NaN); `offset` counts the rows before."""

    frame: pd.DataFrame
    widths: np.ndarray  # cells per row as written (before padding / cutting to the header)
    offset: int
    header_width: int


@dataclass
class GtfsFrames:
    """A feed zip: its small tables as text DataFrames, its large ones (STREAMED_TABLES) as chunk
    iterators, plus what reading found."""

    name: str
    path: Path | None = None
    chunk_rows: int | None = DEFAULT_CHUNK_ROWS
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    widths: dict[str, tuple[int, np.ndarray]] = field(default_factory=dict)  # file -> (header cells, cells per row)
    headers: dict[str, list[str]] = field(default_factory=dict)  # every readable file's columns
    streamed: dict[str, tuple[str, str]] = field(default_factory=dict)  # file -> (zip member, encoding)
    streamed_rows: dict[str, int] = field(default_factory=dict)  # counted as the chunks are read
    unreadable: dict[str, str] = field(default_factory=dict)  # file -> error
    error: str = ""  # the whole zip cannot be read

    def has(self, name: str) -> bool:
        """The file is in the feed, readable, with a header."""
        return bool(self.headers.get(name))

    def frame(self, name: str) -> pd.DataFrame | None:
        return self.frames.get(name)

    def column(self, table: str, column: str) -> pd.Series:
        frame = self.frames.get(table)
        if frame is None or column not in frame.columns:
            return pd.Series([], dtype=object)
        return frame[column]

    def chunks(self, name: str, usecols: tuple[str, ...] | None = None) -> Iterator[TableChunk]:
        """A streamed table's rows, `chunk_rows` at a time (all at once when chunk_rows is None)."""
        member, encoding = self.streamed[name]
        rows = 0
        with zipfile.ZipFile(self.path) as archive, archive.open(member) as raw:  # type: ignore[arg-type]
            text = io.TextIOWrapper(raw, encoding=encoding, newline="")
            for chunk in _table_chunks(text, self.chunk_rows, usecols):
                rows += len(chunk.frame)
                yield chunk
        self.streamed_rows[name] = rows

    def rows(self) -> int:
        return sum(len(frame) for frame in self.frames.values()) + sum(self.streamed_rows.values())

    def as_feed(self) -> Feed:
        """A transit Feed of the same (small) tables, for the validity period rules."""
        feed = Feed(self.name)
        for name, frame in self.frames.items():
            rows = frame.fillna("").astype(str).values.tolist()
            feed.tables[name] = Table(name, list(frame.columns), rows)
        return feed


def _header_of(row: list[str]) -> list[str]:
    header = [cell.strip().lstrip("\ufeff") for cell in row]
    # Duplicate header names would make pandas columns ambiguous: keep the first, mark the others.
    seen: set[str] = set()
    for position, name in enumerate(header):
        if name in seen:
            header[position] = f"{name}#{position}"
        seen.add(name)
    return header


def _frame_of_rows(header: list[str], rows: list[list[str]], usecols: tuple[str, ...] | None) -> pd.DataFrame:
    if not header:
        return pd.DataFrame()
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    if usecols is not None:
        frame = frame[[column for column in header if column in usecols]]
    if len(frame.columns):
        frame = frame.apply(_cells)
    return frame


def _cells(column: pd.Series) -> pd.Series:
    """Cells without surrounding spaces; empty ones are NaN."""
    stripped = column.str.strip()
    return stripped.mask(stripped == "", np.nan)


def _table_chunks(text: io.TextIOBase, chunk_rows: int | None, usecols: tuple[str, ...] | None = None) -> Iterator[TableChunk]:
    """CSV text as TableChunks (at least one, so the header is always seen); blank lines are skipped,
    rows are padded or cut to the header's width (row_widths reports the cut ones)."""
    header: list[str] | None = None
    rows: list[list[str]] = []
    widths: list[int] = []
    offset = 0
    for row in csv.reader(text):
        if not row or all(not cell.strip() for cell in row):
            continue
        if header is None:
            header = _header_of(row)
            continue
        widths.append(len(row))
        width = len(header)
        rows.append((row + [""] * width)[:width] if len(row) != width else row)
        if chunk_rows is not None and len(rows) >= chunk_rows:
            yield TableChunk(_frame_of_rows(header, rows, usecols), np.asarray(widths, dtype=np.int32), offset, width)
            offset += len(rows)
            rows, widths = [], []
    if rows or offset == 0:
        header = header or []
        yield TableChunk(_frame_of_rows(header, rows, usecols), np.asarray(widths, dtype=np.int32), offset, len(header))


def _stream_encoding(archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> tuple[str, list[str]]:
    """The encoding a large member is streamed with (the reader's rules, read block by block so the
    file is never whole in memory: UTF-32 or non-Latin text is a FeedError, recorded as unreadable)
    and its header; a corrupt member raises here, before any check."""
    encoding = streamed_encoding(lambda: archive.open(info), where)
    with archive.open(info) as raw:
        reader = csv.reader(io.TextIOWrapper(raw, encoding=encoding, newline=""))
        first = next((row for row in reader if row and any(cell.strip() for cell in row)), [])
    return encoding, _header_of(first)


def read_gtfs_frames(path: str | Path, name: str | None = None, chunk_rows: int | None = DEFAULT_CHUNK_ROWS) -> GtfsFrames:
    """Open a GTFS zip: small `.txt` files are read whole as text, STREAMED_TABLES are checked
    (encoding, corruption, header) and left to `chunks`; unreadable files and zips are recorded,
    not raised."""
    path = Path(path)
    feed = GtfsFrames(name or path.name, path=path, chunk_rows=chunk_rows)
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
            where = f"{feed.name}/{info.filename}"
            try:
                if base in STREAMED_TABLES:
                    encoding, header = _stream_encoding(archive, info, where)
                    feed.streamed[base] = (info.filename, encoding)
                    feed.headers[base] = header
                    continue
                text = decode_text(archive.read(info), where, [])
                (chunk,) = _table_chunks(io.StringIO(text, newline=""), None)
            except (FeedError, csv.Error, zipfile.BadZipFile, zlib.error, OSError, NotImplementedError, UnicodeDecodeError) as error:
                feed.unreadable[base] = str(error) if isinstance(error, FeedError) else f"{where}: cannot be read ({error})"
                continue
            feed.frames[base] = chunk.frame
            feed.widths[base] = (chunk.header_width, chunk.widths)
            feed.headers[base] = list(chunk.frame.columns)
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
        present = [f for f in options if feed.has(f)]
        unreadable = [f for f in options if f in feed.unreadable]
        empty = [f for f in options if f in feed.headers and not feed.headers[f]]
        outcomes[position] = PASSED if present else FAILED
        reasons.append("present" if present else f"unreadable: {feed.unreadable[unreadable[0]]}" if unreadable
                       else "empty file (no header)" if empty else "missing")
    tally.add(outcomes, lambda i: {"item": wanted[i], "status": reasons[i]})
    return _result(name, Level.FIELD, "the required GTFS files are present and readable", tally)


ROW_WIDTH = "schema.feed.row_width"


def add_row_widths(tally: Tally, table: str, header_width: int, widths: np.ndarray, offset: int = 0) -> None:
    """Short rows are common and harmless (missing trailing optional cells): only extra cells fail."""
    if not len(widths):
        return
    outcomes = np.where(widths <= header_width, PASSED, FAILED).astype(np.int8)
    tally.add(outcomes, lambda i: {"item": f"{table}:{offset + i + 2}", "cells": int(widths[i]), "header_cells": header_width})


def row_widths(feed: GtfsFrames, tally: Tally) -> CheckResult:
    """No row has more cells than its file's header (the extra cells would be dropped). `tally`
    already holds the streamed tables' rows (counted as their chunks were read)."""
    for table, (header_width, widths) in sorted(feed.widths.items()):
        add_row_widths(tally, table, header_width, widths)
    return _result(ROW_WIDTH, Level.FIELD, "no row has more cells than the header", tally)


def schema_results(feed: GtfsFrames, scan: StreamedScan, seed: int = 0) -> list[CheckResult]:
    results = [required_files(feed), row_widths(feed, scan.widths)]
    pandera_found = {"stop_times.txt": scan.stop_times_schema} if scan.stop_times_schema is not None else {}
    for file_name, (schema, id_column) in SCHEMAS.items():
        if file_name in pandera_found:
            found = pandera_found[file_name]
        else:
            frame = feed.frame(file_name)
            if frame is None or not len(frame.columns):
                continue
            found = pandera_results(schema, frame, table=schema.name, id_column=id_column, seed=seed)
        for result in found:
            results.append(_named(result, "dataset" if result.level == Level.DATASET else "schema"))
    return results


# -- references ----------------------------------------------------------------------------------
def _keys(*columns: pd.Series) -> set[str]:
    keys: set[str] = set()
    for column in columns:
        keys.update(str(value) for value in column.dropna().unique())
    return keys


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


class StreamedScan:
    """One pass over the streamed tables (stop_times.txt, shapes.txt), feeding every check that
    needs them: their pandera schema and row widths, the references from stop_times, and what the
    per-trip and dataset checks keep (compact per-row columns, served stop ids, shape ids)."""

    def __init__(self, feed: GtfsFrames, seed: int = 0) -> None:
        self.feed = feed
        self.seed = seed
        self.widths = Tally(ROW_WIDTH)
        self.stop_times_schema: list[CheckResult] | None = None
        self.stop_time_references = stop_times_references(feed)
        self.served_stops: set[str] = set()
        self.shape_ids: set[str] = set()
        self._trip_numbers: dict[str, int] = {}  # trip_id -> number, in order of first appearance
        self._parts: list[tuple[np.ndarray, ...]] = []  # line, trip number, sequence, arrival, departure
        self._has_order = {"trip_id", "stop_sequence"} <= set(feed.headers.get("stop_times.txt", ()))

    def run(self) -> StreamedScan:
        for table, scan in (("stop_times.txt", self._scan_stop_times), ("shapes.txt", self._scan_shapes)):
            if table not in self.feed.streamed:
                continue
            try:
                scan()
            except (FeedError, csv.Error, zipfile.BadZipFile, zlib.error, OSError, UnicodeDecodeError) as error:
                # Rare after read_gtfs_frames' pre-read (e.g. a row past csv's field size limit): the
                # rows before it are checked, the file is reported unreadable.
                self.feed.unreadable[table] = f"{self.feed.name}/{table}: cannot be read ({error})"
        return self

    def _scan_stop_times(self) -> None:
        def frames() -> Iterator[pd.DataFrame]:
            for chunk in self.feed.chunks("stop_times.txt"):
                self._take_stop_times(chunk)
                yield chunk.frame

        if self.feed.has("stop_times.txt"):
            schema, id_column = SCHEMAS["stop_times.txt"]
            self.stop_times_schema = pandera_results(schema, frames(), table=schema.name, id_column=id_column, seed=self.seed)
        else:
            for _frame in frames():
                pass

    def _take_stop_times(self, chunk: TableChunk) -> None:
        frame = chunk.frame
        add_row_widths(self.widths, "stop_times.txt", chunk.header_width, chunk.widths, chunk.offset)
        for reference in self.stop_time_references:
            reference.update(frame, chunk.offset)
        if "stop_id" in frame.columns:
            self.served_stops.update(frame["stop_id"].dropna().unique())
        if not self._has_order or not len(frame):
            return
        codes, uniques = pd.factorize(frame["trip_id"])  # missing trip_id -> -1
        numbers = np.fromiter(
            (self._trip_numbers.setdefault(trip, len(self._trip_numbers)) for trip in uniques), dtype=np.int32, count=len(uniques)
        )
        trips = numbers[np.maximum(codes, 0)] if len(numbers) else np.zeros(len(codes), dtype=np.int32)
        trips[codes < 0] = -1
        self._parts.append((
            np.arange(len(frame), dtype=np.int64) + chunk.offset + 2,
            trips,
            pd.to_numeric(frame["stop_sequence"], errors="coerce").to_numpy(float),
            (seconds(frame["arrival_time"]) if "arrival_time" in frame.columns else np.full(len(frame), np.nan)).astype(np.float32),
            (seconds(frame["departure_time"]) if "departure_time" in frame.columns else np.full(len(frame), np.nan)).astype(np.float32),
        ))

    def _scan_shapes(self) -> None:
        for chunk in self.feed.chunks("shapes.txt", usecols=("shape_id",)):
            add_row_widths(self.widths, "shapes.txt", chunk.header_width, chunk.widths, chunk.offset)
            if "shape_id" in chunk.frame.columns:
                self.shape_ids.update(chunk.frame["shape_id"].dropna().unique())

    def ordered_stop_times(self) -> OrderedStopTimes | None:
        """The stop times sorted by trip, stop_sequence and line, or None when the columns are
        missing. Built from the compact columns (which are released), with numpy only: pandas would
        copy every column again while sorting."""
        if not self._has_order:
            return None
        names = np.asarray(list(self._trip_numbers), dtype=object)
        by_name = np.argsort(names, kind="stable")
        rank = np.empty(len(names), dtype=np.int32)
        rank[by_name] = np.arange(len(names), dtype=np.int32)
        parts, self._parts = self._parts, []
        if parts:
            line, trips, sequence, arrival, departure = (np.concatenate(column) for column in zip(*parts, strict=True))
        else:
            line, trips, sequence, arrival, departure = (np.empty(0, dtype=dtype) for dtype in (np.int64, np.int32, float, np.float32, np.float32))
        del parts
        known = trips >= 0
        if not known.all():  # stop times without a trip_id: not part of any trip
            line, trips, sequence, arrival, departure = (column[known] for column in (line, trips, sequence, arrival, departure))
        trips = rank[trips] if len(rank) else trips
        order = np.lexsort((line, sequence, trips))  # stable; NaN sequences last, as pandas sorts them
        return OrderedStopTimes(line[order], trips[order], sequence[order], arrival[order], departure[order], names[by_name])


@dataclass
class OrderedStopTimes:
    """Stop times sorted by trip, stop_sequence and line; `trip` indexes `trip_names` (sorted)."""

    line: np.ndarray
    trip: np.ndarray
    sequence: np.ndarray
    arrival: np.ndarray
    departure: np.ndarray
    trip_names: np.ndarray

    def __len__(self) -> int:
        return len(self.line)


def _forward_filled_previous(values: np.ndarray, same_trip: np.ndarray) -> np.ndarray:
    """For each row, the last non-NaN value before it in the same trip (NaN when none): rows are
    sorted by trip, so a running maximum of positions does the per-trip forward fill."""
    previous = np.r_[np.float32(np.nan), values[:-1]].astype(values.dtype)
    previous[~same_trip] = np.nan
    positions = np.where(~np.isnan(previous) | ~same_trip, np.arange(len(values)), 0)
    np.maximum.accumulate(positions, out=positions)
    return previous[positions]


def _time_text(value: float) -> str | None:
    if value != value:
        return None
    value = int(value)
    return f"{value // 3600:02d}:{value // 60 % 60:02d}:{value % 60:02d}"


def coherence_results(scan: StreamedScan, seed: int = 0) -> list[CheckResult]:
    ordered = scan.ordered_stop_times()
    names = {
        "arrival": "coherence.stop_times.arrival_before_departure",
        "sequence": "coherence.trips.stop_sequence_increasing",
        "times": "coherence.trips.times_non_decreasing",
        "stops": "coherence.trips.at_least_two_stops",
    }
    tallies = {key: Tally(name, seed) for key, name in names.items()}
    if ordered is not None and len(ordered):
        trip_names = ordered.trip_names
        # arrival <= departure on each stop time (n/a when a time is missing)
        arrival, departure = ordered.arrival, ordered.departure
        both = ~np.isnan(arrival) & ~np.isnan(departure)
        outcomes = np.full(len(ordered), NOT_APPLICABLE, dtype=np.int8)
        outcomes[both] = np.where(arrival[both] <= departure[both], PASSED, FAILED)
        lines, trips, sequence = ordered.line, ordered.trip, ordered.sequence
        tallies["arrival"].add(outcomes, lambda i: {"item": f"stop_times:{lines[i]}", "trip_id": trip_names[trips[i]],
                                                    "arrival_time": _time_text(arrival[i]), "departure_time": _time_text(departure[i])})
        del outcomes, both
        same_trip = np.r_[False, trips[1:] == trips[:-1]]
        repeated = same_trip & (np.r_[np.nan, sequence[:-1]] >= sequence)  # sorted: equal means duplicated
        bad_sequence = np.isnan(sequence) | repeated
        # Times along the trip: each stop's time (arrival, else departure) >= the last known departure before it.
        time_here = np.where(np.isnan(arrival), departure, arrival)
        last_departure = _forward_filled_previous(np.where(np.isnan(departure), arrival, departure), same_trip)
        backwards = ~np.isnan(time_here) & ~np.isnan(last_departure) & (time_here < last_departure)
        # Per trip (rows are grouped by trip, trips in name order).
        starts = np.flatnonzero(~same_trip)
        trip_ids = trips[starts]
        summary = {
            "bad_sequence": np.logical_or.reduceat(bad_sequence, starts),
            "backwards": np.logical_or.reduceat(backwards, starts),
        }
        counts = np.diff(np.r_[starts, len(trips)])
        first_bad = {key: {} for key in ("sequence", "times")}
        for flag, key in ((bad_sequence, "sequence"), (backwards, "times")):
            for position in np.flatnonzero(flag):
                first_bad[key].setdefault(int(trips[position]), position)

        def detail(key: str, trip: int) -> dict[str, Any]:
            position = first_bad[key].get(int(trip))
            if position is None:
                return {"item": str(trip_names[trip])}
            example: dict[str, Any] = {"item": str(trip_names[trip]), "line": int(lines[position]), "stop_sequence": short(sequence[position])}
            if key == "times":
                example.update({"time": _time_text(time_here[position]), "previous_departure": _time_text(last_departure[position])})
            return example

        for key, column in (("sequence", "bad_sequence"), ("times", "backwards")):
            flags = summary[column]
            tallies[key].add(np.where(flags, FAILED, PASSED).astype(np.int8), lambda i, key=key: detail(key, trip_ids[i]))
        tallies["stops"].add(np.where(counts >= 2, PASSED, FAILED).astype(np.int8),
                             lambda i: {"item": str(trip_names[trip_ids[i]]), "stop_times": int(counts[i])})
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


def orphan_stops(feed: GtfsFrames, served: set[str], seed: int = 0) -> CheckResult:
    """Stops and platforms are served by a stop time; stations have a child stop; others are n/a.
    `served`: the stop ids of stop_times.txt (the streamed scan's)."""
    name = "dataset.stops.no_orphans"
    tally = Tally(name, seed)
    stops = feed.frame("stops.txt")
    if stops is not None and "stop_id" in stops.columns and len(stops):
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


def dataset_results(feed: GtfsFrames, scan: StreamedScan, seed: int = 0) -> list[CheckResult]:
    return [trips_per_route(feed, seed), orphan_stops(feed, scan.served_stops, seed), distinct_stop_locations(feed, seed)]


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
