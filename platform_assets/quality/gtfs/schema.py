"""Schema rules: required files, row widths and one pandera schema per GTFS file."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import available_timezones

import numpy as np
import pandas as pd
import pandera.pandas as pa

from platform_assets.lib.gtfs.reader import GtfsFrames
from platform_assets.lib.quality.pandera_checks import pandera_results
from platform_assets.lib.quality.result import (
    FAILED,
    PASSED,
    CheckResult,
    Level,
)
from platform_assets.lib.quality.tally import Tally
from platform_assets.quality.gtfs.common import result_of as _result

if TYPE_CHECKING:
    from platform_assets.quality.gtfs.scan import StreamedScan

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


