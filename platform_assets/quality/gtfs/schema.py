"""File and field rules, named by MobilityData notice codes: required, known and readable files,
headers and row widths, and one pandera schema per small GTFS file (kept for the tables read
whole) whose column checks count under the notice codes (invalid_url, invalid_color, ...)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import available_timezones

from platform_assets.lib.gtfs.reader import GtfsFrames
from platform_assets.lib.quality.check import short
from platform_assets.lib.quality.result import Level
from platform_assets.quality.gtfs.notices import ERROR, INFO, WARNING, Findings, rule

if TYPE_CHECKING:  # pandera is imported when the schemas are first used, not by the code location's load
    import pandera.pandas as pa

from platform_assets.lib.deferred import np, pd

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
    import pandera.pandas as pa

    return pa.Check.str_matches(pattern, error=label)


def _codes(values: list[str], label: str = "codelist") -> pa.Check:
    import pandera.pandas as pa

    return pa.Check.isin(values, error=label)


def _in_range(low: float, high: float) -> pa.Check:
    import pandera.pandas as pa

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




def _col(*checks: pa.Check, required: bool = True, nullable: bool = True, unique: bool = False) -> pa.Column:
    import pandera.pandas as pa

    return pa.Column(None, list(checks), required=required, nullable=nullable, unique=unique)


def _opt(*checks: pa.Check) -> pa.Column:
    return _col(*checks, required=False)


def _key(unique: bool = False, required: bool = True) -> pa.Column:
    return _col(required=required, nullable=False, unique=unique)


BINARY = ["0", "1"]

@lru_cache(maxsize=1)
def pandera_schemas() -> dict[str, tuple[pa.DataFrameSchema, str | None]]:
    """One pandera schema per small GTFS file (built on first use: pandera costs a quarter of a second
    to import, which every load of the code location would otherwise pay)."""
    import pandera.pandas as pa

    date_check = pa.Check(_date_ok, error="date_format")
    timezone_check = pa.Check(_timezone_ok, error="timezone")
    return {
        "agency.txt": (pa.DataFrameSchema({
            "agency_id": _col(required=False, unique=True),
            "agency_name": _key(),
            "agency_url": _col(_matches(URL, "url_format"), nullable=False),
            "agency_timezone": _col(timezone_check, nullable=False),
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
            "stop_timezone": _opt(timezone_check),
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
        "calendar.txt": (pa.DataFrameSchema({
            "service_id": _key(unique=True),
            **{day: _col(_codes(BINARY), nullable=False) for day in
               ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")},
            "start_date": _col(date_check, nullable=False),
            "end_date": _col(date_check, nullable=False),
        }, name="calendar"), "service_id"),
        "calendar_dates.txt": (pa.DataFrameSchema({
            "service_id": _key(),
            "date": _col(date_check, nullable=False),
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
            "feed_start_date": _opt(date_check),
            "feed_end_date": _opt(date_check),
            "feed_contact_email": _opt(_matches(EMAIL, "email_format")),
            "feed_contact_url": _opt(_matches(URL, "url_format")),
        }, name="feed_info"), None),
    }

# GTFS files this project knows (others are `unknown_file`), with their columns (others are `unknown_column`).
KNOWN_FILES: dict[str, tuple[str, ...]] = {
    "agency.txt": ("agency_id", "agency_name", "agency_url", "agency_timezone", "agency_lang", "agency_phone",
                   "agency_fare_url", "agency_email", "cemv_support"),
    "stops.txt": ("stop_id", "stop_code", "stop_name", "tts_stop_name", "stop_desc", "stop_lat", "stop_lon", "zone_id",
                  "stop_url", "location_type", "parent_station", "stop_timezone", "wheelchair_boarding", "level_id",
                  "platform_code", "stop_access"),
    "routes.txt": ("route_id", "agency_id", "route_short_name", "route_long_name", "route_desc", "route_type", "route_url",
                   "route_color", "route_text_color", "route_sort_order", "continuous_pickup", "continuous_drop_off",
                   "network_id", "cemv_support"),
    "trips.txt": ("route_id", "service_id", "trip_id", "trip_headsign", "trip_short_name", "direction_id", "block_id",
                  "shape_id", "wheelchair_accessible", "bikes_allowed", "cars_allowed"),
    "stop_times.txt": ("trip_id", "arrival_time", "departure_time", "stop_id", "location_group_id", "location_id",
                       "stop_sequence", "stop_headsign", "start_pickup_drop_off_window", "end_pickup_drop_off_window",
                       "pickup_type", "drop_off_type", "continuous_pickup", "continuous_drop_off", "shape_dist_traveled",
                       "timepoint", "pickup_booking_rule_id", "drop_off_booking_rule_id"),
    "calendar.txt": ("service_id", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
                     "start_date", "end_date"),
    "calendar_dates.txt": ("service_id", "date", "exception_type"),
    "fare_attributes.txt": ("fare_id", "price", "currency_type", "payment_method", "transfers", "agency_id", "transfer_duration"),
    "fare_rules.txt": ("fare_id", "route_id", "origin_id", "destination_id", "contains_id"),
    "shapes.txt": ("shape_id", "shape_pt_lat", "shape_pt_lon", "shape_pt_sequence", "shape_dist_traveled"),
    "frequencies.txt": ("trip_id", "start_time", "end_time", "headway_secs", "exact_times"),
    "transfers.txt": ("from_stop_id", "to_stop_id", "from_route_id", "to_route_id", "from_trip_id", "to_trip_id",
                      "transfer_type", "min_transfer_time"),
    "pathways.txt": ("pathway_id", "from_stop_id", "to_stop_id", "pathway_mode", "is_bidirectional", "length",
                     "traversal_time", "stair_count", "max_slope", "min_width", "signposted_as", "reversed_signposted_as"),
    "levels.txt": ("level_id", "level_index", "level_name"),
    "feed_info.txt": ("feed_publisher_name", "feed_publisher_url", "feed_lang", "default_lang", "feed_start_date",
                      "feed_end_date", "feed_version", "feed_contact_email", "feed_contact_url"),
    "translations.txt": ("table_name", "field_name", "language", "translation", "record_id", "record_sub_id", "field_value"),
    "attributions.txt": ("attribution_id", "agency_id", "route_id", "trip_id", "organization_name", "is_producer",
                         "is_operator", "is_authority", "attribution_url", "attribution_email", "attribution_phone"),
    **{name: () for name in ("timeframes.txt", "rider_categories.txt", "fare_media.txt", "fare_products.txt",
                             "fare_leg_rules.txt", "fare_leg_join_rules.txt", "fare_transfer_rules.txt", "areas.txt",
                             "stop_areas.txt", "networks.txt", "route_networks.txt", "location_groups.txt",
                             "location_group_stops.txt", "booking_rules.txt")},
}
REQUIRED_FILES = ("agency.txt", "stops.txt", "routes.txt", "trips.txt", "stop_times.txt")

# Notice codes of MobilityData's core notices (core/src/main/java/org/mobilitydata/gtfsvalidator/notice/).
MISSING_FILE = rule("missing_required_file", ERROR, "files", "the required GTFS files are present", Level.DATASET)
MISSING_CALENDAR = rule("missing_calendar_and_calendar_date_files", ERROR, "files",
                        "calendar.txt or calendar_dates.txt is present", Level.DATASET)
EMPTY_FILE = rule("empty_file", ERROR, "files", "a file has a header and at least one row", Level.DATASET)
UNKNOWN_FILE = rule("unknown_file", INFO, "files", "every file is a GTFS file", Level.DATASET)
UNKNOWN_COLUMN = rule("unknown_column", INFO, "files", "every column of a GTFS file is a GTFS column", Level.DATASET)
INVALID_CHARACTER = rule("invalid_character", ERROR, "files", "a file is UTF-8 text (else read as Latin-1 for the other rules)")
CSV_PARSING = rule("csv_parsing_failed", ERROR, "files", "the zip and its files can be read as CSV", Level.DATASET)
ROW_LENGTH = rule("invalid_row_length", ERROR, "files", "every row has as many cells as its header")
DUPLICATED_COLUMN = rule("duplicated_column", ERROR, "files", "no column name appears twice in a header")
EMPTY_COLUMN_NAME = rule("empty_column_name", ERROR, "files", "no column of a header has an empty name")
NEW_LINE = rule("new_line_in_value", ERROR, "files", "no value holds a line break")
MISSING_COLUMN = rule("missing_required_column", ERROR, "fields", "every required column is in its file")
MISSING_FIELD = rule("missing_required_field", ERROR, "fields", "every required field has a value")
DUPLICATE_KEY = rule("duplicate_key", ERROR, "fields", "every primary key is unique in its file", Level.DATASET)
INVALID_TIME = rule("invalid_time", ERROR, "fields", "times are H:MM:SS (hours may pass 24)")
INVALID_DATE = rule("invalid_date", ERROR, "fields", "dates are YYYYMMDD calendar dates")
INVALID_COLOR = rule("invalid_color", ERROR, "fields", "colours are six hexadecimal digits")
INVALID_URL = rule("invalid_url", ERROR, "fields", "URLs are http(s) URLs")
INVALID_EMAIL = rule("invalid_email", ERROR, "fields", "e-mail addresses are valid")
INVALID_TIMEZONE = rule("invalid_timezone", ERROR, "fields", "timezones are IANA timezone names")
INVALID_LANGUAGE = rule("invalid_language_code", ERROR, "fields", "languages are IETF BCP 47 codes")
INVALID_INTEGER = rule("invalid_integer", ERROR, "fields", "integer fields hold integers")
INVALID_FLOAT = rule("invalid_float", ERROR, "fields", "decimal fields hold numbers")
OUT_OF_RANGE = rule("number_out_of_range", ERROR, "fields", "numbers are within their field's range")
ENUM = rule("unexpected_enum_value", WARNING, "fields", "enumerated fields hold one of their values")
FOREIGN_KEY = rule("foreign_key_violation", ERROR, "references", "every reference names an existing row of its target file", Level.DATASET)

# pandera check label -> notice code
LABEL_CODES = {
    "present": MISSING_COLUMN, "not_nullable": MISSING_FIELD, "unique": DUPLICATE_KEY, "url_format": INVALID_URL,
    "email_format": INVALID_EMAIL, "colour_format": INVALID_COLOR, "timezone": INVALID_TIMEZONE, "language": INVALID_LANGUAGE,
    "date_format": INVALID_DATE, "time_format": INVALID_TIME, "decimal": INVALID_FLOAT, "non_negative_integer": INVALID_INTEGER,
    "codelist": ENUM, "route_type_code": ENUM,
}


def _code_of(label: str) -> str | None:
    return OUT_OF_RANGE if label.startswith("in_range") else LABEL_CODES.get(label)


def file_rules(feed: GtfsFrames, findings: Findings) -> None:
    """Files: required, known, non-empty, decodable, readable, with sound headers and row widths."""
    for name in REQUIRED_FILES:
        if feed.has(name) or name in feed.unreadable:
            findings.passed(MISSING_FILE)
        elif name in feed.headers:  # present without a header: empty, not missing
            findings.passed(MISSING_FILE)
        else:
            findings.fail(MISSING_FILE, {"item": name, "file": name})
    calendars = [name for name in ("calendar.txt", "calendar_dates.txt") if name in feed.headers or name in feed.unreadable]
    if calendars:
        findings.passed(MISSING_CALENDAR)
    else:
        findings.fail(MISSING_CALENDAR, {"item": "calendar.txt|calendar_dates.txt"})
    present = sorted(set(feed.headers) | set(feed.unreadable))
    findings.add(UNKNOWN_FILE, np.asarray([name not in KNOWN_FILES for name in present], bool), lambda i: {"item": present[i]})
    for name, header in sorted(feed.headers.items()):
        rows = len(feed.frames[name]) if name in feed.frames else None
        if name in REQUIRED_FILES or name in ("calendar.txt", "calendar_dates.txt"):
            empty = not header or rows == 0 or (name in feed.streamed and not _has_rows(feed, name))
            findings.add(EMPTY_FILE, np.asarray([empty]), lambda _i, n=name: {"item": n, "file": n})
        known = KNOWN_FILES.get(name)
        if known:
            findings.add(UNKNOWN_COLUMN, np.asarray([column not in known for column in header]),
                         lambda i, n=name, h=header: {"item": n, "file": n, "column": h[i]})
        originals = [column.split("#", 1)[0] for column in header]
        findings.add(DUPLICATED_COLUMN, np.asarray(["#" in column for column in header]), lambda i, n=name, o=originals: {"item": n, "column": o[i]})
        findings.add(EMPTY_COLUMN_NAME, np.asarray([column == "" for column in originals]), lambda i, n=name: {"item": n, "index": i})
    for name in sorted(set(feed.headers) | set(feed.unreadable)):
        findings.add(INVALID_CHARACTER, np.asarray([name in feed.not_utf8]), lambda _i, n=name: {"item": n, "error": feed.not_utf8.get(n, "")})
        findings.add(CSV_PARSING, np.asarray([name in feed.unreadable]), lambda _i, n=name: {"item": n, "error": feed.unreadable.get(n, "")})
    for table, (header_width, widths) in sorted(feed.widths.items()):
        findings.add(ROW_LENGTH, widths != header_width,
                     lambda i, t=table, w=widths, h=header_width: {"item": f"{t.removesuffix('.txt')}:{i + 2}", "file": t, "cells": int(w[i]), "header_cells": h})
    for table, frame in sorted(feed.frames.items()):
        for column in frame.columns:
            values = frame[column]
            broken = values.str.contains("\n|\r", regex=True, na=False).to_numpy() if values.dtype == object else np.zeros(len(values), bool)
            if broken.any():
                findings.add(NEW_LINE, broken, lambda i, t=table, c=column, v=values: {"item": f"{t.removesuffix('.txt')}:{i + 2}", "column": c, "value": short(v.iat[i])})
            else:
                findings.passed(NEW_LINE, len(values))


def _has_rows(feed: GtfsFrames, name: str) -> bool:
    for _offset, batch in feed.batches(name, tuple(feed.headers[name][:1])):
        if batch.num_rows:
            return True
    return False


def schema_rules(feed: GtfsFrames, findings: Findings, seed: int = 0) -> None:
    """The pandera schemas of the tables read whole, their results counted under notice codes."""
    from platform_assets.lib.quality.pandera_checks import pandera_results

    for file_name, (table_schema, id_column) in pandera_schemas().items():
        frame = feed.frame(file_name)
        if frame is None or not len(frame.columns):
            continue
        for result in pandera_results(table_schema, frame, table=table_schema.name, id_column=id_column, seed=seed):
            label = str(result.meta.get("check", ""))
            code = _code_of(label)
            if code is None:
                continue
            for examples in result.examples.values():
                for example in examples:
                    example["file"] = file_name
            findings.merge(code, result)
