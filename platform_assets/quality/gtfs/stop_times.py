"""stop_times.txt, scanned columnar in bounded Arrow batches (the table that grows with the
timetable): field rules and references per batch with vectorised parsing and set look-ups, then
the per-trip rules on compact columns (trip number, stop_sequence, two times, distance, stop
number, whether a pickup/drop-off window is given: 23 bytes a row) sorted once. Rules from MobilityData/gtfs-validator's StopTimeArrivalAndDepartureTime-,
MissingTripEdge-, StopTimeIncreasingDistance- and TimepointTimeValidator (main/src/main/java/org/
mobilitydata/gtfsvalidator/validator/)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platform_assets.lib.deferred import np, pa, pc
from platform_assets.lib.gtfs.reader import GtfsFrames
from platform_assets.lib.quality.check import short
from platform_assets.lib.quality.result import Level
from platform_assets.lib.quality.tally import Tally
from platform_assets.quality.gtfs import schema
from platform_assets.quality.gtfs.notices import ERROR, WARNING, Findings, rule
from platform_assets.quality.gtfs.spill import RowSpill

COLUMNS = ("trip_id", "stop_id", "stop_sequence", "arrival_time", "departure_time", "shape_dist_traveled",
           "timepoint", "pickup_type", "drop_off_type", "location_group_id", "location_id",
           "start_pickup_drop_off_window", "end_pickup_drop_off_window")
ONLY_ONE_TIME = rule("stop_time_with_only_arrival_or_departure_time", ERROR, "stop_times",
                     "a stop time has both arrival_time and departure_time or neither", Level.ITEM)
BEFORE_PREVIOUS = rule("stop_time_with_arrival_before_previous_departure_time", ERROR, "stop_times",
                       "a stop time's arrival is not before the previous stop's departure (by stop_sequence)", Level.ITEM)
# An edge stop time with a pickup/drop-off window (either end) is exempt: GTFS-Flex times it by the
# window, not by arrival/departure (MissingTripEdgeValidator.java in main/src/main/java/org/
# mobilitydata/gtfsvalidator/validator/ skips the times check for such a first or last stop time).
TRIP_EDGE = rule("missing_trip_edge", ERROR, "stop_times",
                 "the first and last stop times of a trip have both an arrival and a departure time "
                 "(unless they have a pickup/drop-off window)", Level.ITEM)
DISTANCE = rule("decreasing_or_equal_stop_time_distance", ERROR, "stop_times",
                "shape_dist_traveled strictly increases along a trip", Level.ITEM)
TIMEPOINT = rule("stop_time_timepoint_without_times", ERROR, "stop_times",
                 "a stop time with timepoint=1 has an arrival and a departure time", Level.ITEM)
UNEXPECTED_STOP = rule("location_with_unexpected_stop_time", ERROR, "stop_times",
                       "stop_times.stop_id names a stop or platform (location_type 0), not a station, entrance or node", Level.ITEM)
UNUSABLE_TRIP = rule("unusable_trip", WARNING, "stop_times", "a trip has at least two stop times", Level.ITEM)
UNUSED_TRIP = rule("unused_trip", WARNING, "stop_times", "every trip of trips.txt has stop times", Level.DATASET)
# GTFS-Flex stop times (MobilityData's PickupDropOffWindow-, PickupDropOffType-, ContinuousPickupDropOff-,
# StopTimesGeographyIdPresence-, StopTimesShapeDistTraveledPresence- and StopTimesRecordValidator).
GEOGRAPHY_IDS = rule("forbidden_geography_id", ERROR, "stop_times",
                     "a stop time names one of stop_id, location_group_id and location_id, not several", Level.ITEM)
FLEX_DISTANCE = rule("forbidden_shape_dist_traveled", ERROR, "stop_times",
                     "a stop time at a location group or GeoJSON location has no shape_dist_traveled", Level.ITEM)
WINDOW_AND_TIMES = rule("forbidden_arrival_or_departure_time", ERROR, "stop_times",
                        "a stop time with a pickup/drop-off window has no arrival_time or departure_time", Level.ITEM)
HALF_WINDOW = rule("missing_pickup_or_drop_off_window", ERROR, "stop_times",
                   "a pickup/drop-off window has both its start and its end", Level.ITEM)
WINDOW_ORDER = rule("invalid_pickup_drop_off_window", ERROR, "stop_times",
                    "a pickup/drop-off window starts before it ends", Level.ITEM)
WINDOW_PICKUP = rule("forbidden_pickup_type", ERROR, "stop_times",
                     "a stop time with a window has pickup_type 1 or 2 (not regular 0, nor 3)", Level.ITEM)
WINDOW_DROP_OFF = rule("forbidden_drop_off_type", ERROR, "stop_times",
                       "a stop time with a window has drop_off_type 1, 2 or 3 (not regular 0)", Level.ITEM)
WINDOW_CONTINUOUS = rule("forbidden_continuous_pickup_drop_off", ERROR, "stop_times",
                         "a stop time with a window is not on a route with continuous pickup or drop-off", Level.ITEM)
LONE_PHONE_RECORD = rule("missing_stop_times_record", ERROR, "stop_times",
                         "a trip whose stop time has a window and must-phone pickup and drop-off has another stop time", Level.ITEM)

COHERENCE = "coherence.stop_times.arrival_before_departure"  # the project's own check, a Tally beside the notices
TIME_PATTERN = r"^\d{1,3}:[0-5]\d:[0-5]\d$"  # hours past 24 are valid (trips after midnight)
INTEGER_PATTERN = r"^-?\d+$"
FLOAT_PATTERN = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"


def seconds_of(times: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """H:MM:SS as seconds (-1 when empty or malformed) and where the text is malformed."""
    valid = pc.match_substring_regex(times, TIME_PATTERN)
    text = pc.if_else(valid, times, "0:00:00")
    hours = pc.cast(pc.utf8_slice_codeunits(text, 0, -6), pa.int32())
    minutes = pc.cast(pc.utf8_slice_codeunits(text, -5, -3), pa.int32())
    secs = pc.cast(pc.utf8_slice_codeunits(text, -2, 2**31 - 1), pa.int32())
    value = (hours.to_numpy() * 3600 + minutes.to_numpy() * 60 + secs.to_numpy()).astype(np.int32)
    valid_np = valid.to_numpy(zero_copy_only=False)
    value[~valid_np] = -1
    empty = pc.equal(times, "").to_numpy(zero_copy_only=False)
    return value, ~valid_np & ~empty


def _time_text(value: int) -> str | None:
    return None if value < 0 else f"{value // 3600:02d}:{value // 60 % 60:02d}:{value % 60:02d}"


# A stop time's per-trip columns on disk (widened so every batch has one layout), with its line.
# numpy dtype fields, as names: numpy is imported by the first check run, not the code location.
SPILL_FIELDS = [("trip", "int32"), ("sequence", "int64"), ("arrival", "int32"), ("departure", "int32"),
                ("distance", "float32"), ("stop", "int32"), ("window", "bool"), ("line", "int32")]
DEFAULT_SPILL_ROWS = 250_000


def stop_times_spill(folder: Path, rows: int) -> RowSpill:
    """Where the per-trip columns of stop_times.txt wait once more than `rows` are held."""
    return RowSpill(folder, rows, np.dtype(SPILL_FIELDS), "trip", "stop_times")


def _spill_parts(spill: RowSpill, parts: list[list[np.ndarray]]) -> None:
    """Append the rows held in `parts` (then emptied) to the spill, each with its line (position + 2)."""
    columns = []
    for part in parts:
        columns.append(np.concatenate(part) if part else np.empty(0, np.int32))
        part.clear()
    columns.append(np.arange(spill.written + 2, spill.written + 2 + len(columns[0]), dtype=np.int32))
    spill.write(columns)


@dataclass
class StopTimesScan:
    """What the per-trip and dataset rules need from stop_times.txt, gathered batch by batch."""

    trip_names: list[str] = field(default_factory=list)  # trip number -> trip_id
    served_stops: set[str] = field(default_factory=set)
    served_groups: set[str] = field(default_factory=set)  # location_group_id values (their stops count as served)
    # trip, sequence, arrival, departure, distance, stop, window (a pickup/drop-off window start or end given)
    parts: list[list[np.ndarray]] = field(default_factory=lambda: [[], [], [], [], [], [], []])
    stop_names: list[str] = field(default_factory=list)  # stop number -> stop_id (stops.txt's, in order)
    rows: int = 0
    trip_stops: dict[str, set[str]] = field(default_factory=dict)  # for the trips transfers.txt names
    trip_sequences: dict[str, set[str]] = field(default_factory=dict)  # for the trips translations.txt names
    phone_only: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # (line, trip) of must-phone window stop times
    spill: RowSpill | None = None  # where `parts` go once they pass spill.rows rows (None: kept in memory)


def _continuous_trips(feed: GtfsFrames) -> pa.Array:
    """Trips of routes with continuous pickup or drop-off (0, 2 or 3; empty is 1, none)."""
    routes, trips = feed.frame("routes.txt"), feed.frame("trips.txt")
    if routes is None or trips is None or not {"route_id", "trip_id"} <= set(trips.columns) or "route_id" not in routes.columns:
        return pa.array([], pa.string())
    continuous = np.zeros(len(routes), bool)
    for column in ("continuous_pickup", "continuous_drop_off"):
        if column in routes.columns:
            continuous |= routes[column].isin(["0", "2", "3"]).to_numpy()
    chosen = set(routes.loc[continuous, "route_id"])
    return pa.array(trips.loc[trips["route_id"].isin(chosen), "trip_id"].dropna().astype(str).unique(), pa.string())


def _flex_rules(cols: dict[str, pa.Array], empty: dict[str, np.ndarray], rows: int, findings: Findings, example: Any,
                continuous_trips: pa.Array, has_arrival: np.ndarray, has_departure: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """The GTFS-Flex rules of one batch; returns where a must-phone window stop time is (else None)
    and where a stop time has a pickup/drop-off window (start or end)."""
    def given(column: str) -> np.ndarray:
        return ~empty[column] if column in cols else np.zeros(rows, bool)

    places = [given(column) for column in ("stop_id", "location_group_id", "location_id")]
    count = places[0].astype(np.int8) + places[1] + places[2]
    if "stop_id" in cols or "location_group_id" in cols or "location_id" in cols:  # one of them is required
        findings.add(schema.MISSING_FIELD, count == 0, lambda i: example(i, "stop_id"))
    if "location_group_id" in cols or "location_id" in cols:
        findings.add(GEOGRAPHY_IDS, count > 1, lambda i: example(i, "stop_id"))
        if "shape_dist_traveled" in cols:
            findings.add(FLEX_DISTANCE, ~places[0] & (places[1] | places[2]) & given("shape_dist_traveled"),
                         lambda i: example(i, "shape_dist_traveled"))
    start_column, end_column = "start_pickup_drop_off_window", "end_pickup_drop_off_window"
    start, end = given(start_column), given(end_column)
    if start_column not in cols and end_column not in cols:
        return None, start
    window = start | end
    findings.add(WINDOW_AND_TIMES, window & (has_arrival | has_departure), lambda i: example(i, "arrival_time"))
    findings.add(HALF_WINDOW, window & ~(start & end), lambda i: example(i, start_column))
    both = start & end
    start_s = seconds_of(cols[start_column])[0] if start_column in cols else np.full(rows, -1)
    end_s = seconds_of(cols[end_column])[0] if end_column in cols else np.full(rows, -1)
    findings.add(WINDOW_ORDER, both & (start_s >= 0) & (end_s >= 0) & (start_s >= end_s), lambda i: example(i, start_column))
    # Empty pickup_type / drop_off_type mean 0 (regular).
    pickup = cols["pickup_type"].to_numpy(zero_copy_only=False) if "pickup_type" in cols else np.full(rows, "", object)
    drop_off = cols["drop_off_type"].to_numpy(zero_copy_only=False) if "drop_off_type" in cols else np.full(rows, "", object)
    findings.add(WINDOW_PICKUP, window & np.isin(pickup, ["", "0", "3"]), lambda i: example(i, "pickup_type"))
    findings.add(WINDOW_DROP_OFF, window & np.isin(drop_off, ["", "0"]), lambda i: example(i, "drop_off_type"))
    if len(continuous_trips) and "trip_id" in cols:
        on_continuous = pc.is_in(cols["trip_id"], value_set=continuous_trips).to_numpy(zero_copy_only=False)
        findings.add(WINDOW_CONTINUOUS, window & on_continuous, lambda i: example(i, "trip_id"))
    return both & (pickup == "2") & (drop_off == "2"), window


def scan_stop_times(feed: GtfsFrames, findings: Findings, stops_of: Collection[str] = (),
                    sequences_of: Collection[str] = (), spill: RowSpill | None = None) -> StopTimesScan:
    """One pass over stop_times.txt, `feed.chunk_rows` rows at a time; keeps the stop ids of the
    trips `stops_of` and the stop_sequence values of the trips `sequences_of`; the per-trip
    columns go to `spill` whenever more than `spill.rows` are held."""
    scan = StopTimesScan(spill=spill)
    held = 0  # rows in scan.parts
    header = feed.headers.get("stop_times.txt") or []
    if "stop_times.txt" not in feed.streamed or not header:
        return scan
    trips = feed.frame("trips.txt")
    trip_ids = pa.array(trips["trip_id"].dropna().astype(str).unique() if trips is not None and "trip_id" in trips else [], pa.string())
    scan.trip_names = trip_ids.to_pylist()
    # trip_id -> trip number: looked up once per distinct trip of a batch (a few hundred), not
    # hashed again for every batch; trip ids trips.txt lacks get numbers after its own.
    trip_number = {name: number for number, name in enumerate(scan.trip_names)}
    listed = len(trip_number)
    continuous_trips = _continuous_trips(feed)
    kept = pa.array(sorted(set(stops_of) | set(sequences_of)), pa.string())
    stops = feed.frame("stops.txt")
    stop_ids = pa.array(stops["stop_id"].dropna().astype(str).unique() if stops is not None and "stop_id" in stops else [], pa.string())
    not_stops: pa.Array = pa.array([], pa.string())
    if stops is not None and {"stop_id", "location_type"} <= set(stops.columns):
        kinds = stops["location_type"].fillna("0")
        not_stops = pa.array(stops.loc[~kinds.isin(["0", "4"]), "stop_id"].dropna().astype(str).unique(), pa.string())
    has_trips, has_stops = feed.has("trips.txt"), feed.has("stops.txt")
    # stop_id -> stop number, looked up per distinct stop of a batch like trips; -1 for stops that
    # stops.txt lacks; 16 bits a row unless the feed has more stops.
    scan.stop_names = stop_ids.to_pylist()
    stop_number = {name: number for number, name in enumerate(scan.stop_names)}
    stop_dtype = np.int16 if len(stop_number) < 2**15 - 1 else np.int32
    station_stop = np.asarray([name in set(not_stops.to_pylist()) for name in scan.stop_names] + [False], bool)
    for column in ("trip_id", "stop_id", "stop_sequence", "arrival_time", "departure_time"):
        if column in header:
            findings.passed(schema.MISSING_COLUMN)
        else:
            findings.fail(schema.MISSING_COLUMN, {"item": "stop_times.txt", "file": "stop_times.txt", "column": column})
    for offset, batch in feed.batches("stop_times.txt", COLUMNS):
        rows = batch.num_rows
        scan.rows += rows
        line = np.arange(offset + 2, offset + 2 + rows, dtype=np.int32)
        cols = {name: batch.column(name) for name in batch.schema.names}
        empty = {name: pc.equal(column, "").to_numpy(zero_copy_only=False) for name, column in cols.items()}

        def example(i: int, column: str, cols: dict[str, pa.Array] = cols, line: np.ndarray = line, **extra: Any) -> dict[str, Any]:
            value = cols[column][i].as_py() if column in cols else None
            return {"item": f"stop_times:{line[i]}", "file": "stop_times.txt", "column": column, "value": short(value), **extra}

        for column in ("trip_id", "stop_sequence"):
            if column in cols:
                findings.add(schema.MISSING_FIELD, empty[column], lambda i, c=column: example(i, c))
        # References: set look-ups (not applicable when the target file is missing, reported once).
        trip = np.full(rows, -1, dtype=np.int32)
        if "trip_id" in cols:
            encoded = pc.dictionary_encode(cols["trip_id"]).combine_chunks() if isinstance(cols["trip_id"], pa.ChunkedArray) \
                else pc.dictionary_encode(cols["trip_id"])
            names = encoded.dictionary.to_pylist()
            for name in names:
                if name and name not in trip_number:
                    trip_number[name] = len(scan.trip_names)
                    scan.trip_names.append(name)
            numbers = np.asarray([trip_number.get(name, -1) for name in names], dtype=np.int32)
            trip = numbers[encoded.indices.to_numpy(zero_copy_only=False)] if len(names) else trip
        if "trip_id" in cols and has_trips:
            findings.add(schema.FOREIGN_KEY, trip >= listed,
                         lambda i: example(i, "trip_id", target="trips.trip_id"))
        stop = np.full(rows, -1, dtype=stop_dtype)
        if "stop_id" in cols:
            encoded = pc.dictionary_encode(cols["stop_id"])
            stop_names = encoded.dictionary.to_pylist()
            scan.served_stops.update(stop_names)
            if stop_names:
                stop = np.asarray([stop_number.get(name, -1) for name in stop_names], dtype=stop_dtype)[
                    encoded.indices.to_numpy(zero_copy_only=False)]
            if has_stops:
                findings.add(schema.FOREIGN_KEY, (stop < 0) & ~empty["stop_id"], lambda i: example(i, "stop_id", target="stops.stop_id"))
                findings.add(UNEXPECTED_STOP, station_stop[stop], lambda i: example(i, "stop_id"))
        # Times, vectorised.
        none = np.full(rows, -1, dtype=np.int32)
        arrival, bad_arrival = seconds_of(cols["arrival_time"]) if "arrival_time" in cols else (none, np.zeros(rows, bool))
        departure, bad_departure = seconds_of(cols["departure_time"]) if "departure_time" in cols else (none, np.zeros(rows, bool))
        if "arrival_time" in cols:
            findings.add(schema.INVALID_TIME, bad_arrival, lambda i: example(i, "arrival_time"))
        if "departure_time" in cols:
            findings.add(schema.INVALID_TIME, bad_departure, lambda i: example(i, "departure_time"))
        has_arrival = empty["arrival_time"] == False if "arrival_time" in cols else np.zeros(rows, bool)  # noqa: E712
        has_departure = empty["departure_time"] == False if "departure_time" in cols else np.zeros(rows, bool)  # noqa: E712
        findings.add(ONLY_ONE_TIME, has_arrival != has_departure, lambda i: example(i, "arrival_time", departure_time=example(i, "departure_time")["value"]))
        if "timepoint" in cols:
            timed = pc.equal(cols["timepoint"], "1").to_numpy(zero_copy_only=False)
            findings.add(TIMEPOINT, timed & ~(has_arrival & has_departure), lambda i: example(i, "timepoint"))
        # Integers and enums.
        sequence = np.full(rows, -1, dtype=np.int64)
        if "stop_sequence" in cols:
            integer = pc.match_substring_regex(cols["stop_sequence"], INTEGER_PATTERN).to_numpy(zero_copy_only=False)
            findings.add(schema.INVALID_INTEGER, ~integer & ~empty["stop_sequence"], lambda i: example(i, "stop_sequence"))
            sequence[integer] = pc.cast(pc.filter(cols["stop_sequence"], pa.array(integer)), pa.int64()).to_numpy()
            findings.add(schema.OUT_OF_RANGE, integer & (sequence < 0), lambda i: example(i, "stop_sequence"))
            sequence[sequence < 0] = -1
        for column, allowed in (("pickup_type", ("0", "1", "2", "3")), ("drop_off_type", ("0", "1", "2", "3")), ("timepoint", ("0", "1"))):
            if column in cols:
                known = pc.is_in(cols[column], value_set=pa.array(allowed)).to_numpy(zero_copy_only=False)
                findings.add(schema.ENUM, ~known & ~empty[column], lambda i, c=column: example(i, c))
        distance = np.full(rows, np.nan, dtype=np.float32)
        if "shape_dist_traveled" in cols:
            number = pc.match_substring_regex(cols["shape_dist_traveled"], FLOAT_PATTERN).to_numpy(zero_copy_only=False)
            findings.add(schema.INVALID_FLOAT, ~number & ~empty["shape_dist_traveled"], lambda i: example(i, "shape_dist_traveled"))
            distance[number] = pc.cast(pc.filter(cols["shape_dist_traveled"], pa.array(number)), pa.float64()).to_numpy()
            findings.add(schema.OUT_OF_RANGE, number & (distance < 0), lambda i: example(i, "shape_dist_traveled"))
        phone_only, window = _flex_rules(cols, empty, rows, findings, example, continuous_trips, has_arrival, has_departure)
        if "location_group_id" in cols:
            scan.served_groups.update(name for name in pc.unique(cols["location_group_id"]).to_pylist() if name)
        if "trip_id" in cols:
            # Every row (its line is its position + 2; rows without a trip_id are dropped when
            # sorted); stop_sequence in 32 bits unless a value needs more.
            compact = sequence.astype(np.int32) if not len(sequence) or sequence.max() < 2**31 else sequence
            for part, column in zip(scan.parts, (trip, compact, arrival, departure, distance, stop, window), strict=True):
                part.append(column)
            held += rows
            if spill is not None and held > spill.rows:
                _spill_parts(spill, scan.parts)
                held = 0
            if phone_only is not None and phone_only.any():
                keep = phone_only & (trip >= 0)
                scan.phone_only.append((line[keep], trip[keep]))
            if len(kept):
                wanted = np.flatnonzero(pc.is_in(cols["trip_id"], value_set=kept).to_numpy(zero_copy_only=False))
                for i in wanted:
                    name = cols["trip_id"][int(i)].as_py()
                    if name in stops_of and "stop_id" in cols:
                        scan.trip_stops.setdefault(name, set()).add(cols["stop_id"][int(i)].as_py())
                    if name in sequences_of and "stop_sequence" in cols:
                        scan.trip_sequences.setdefault(name, set()).add(cols["stop_sequence"][int(i)].as_py())
    for line_number, cells in feed.cut_rows.get("stop_times.txt", []):
        findings.fail(schema.ROW_LENGTH, {"item": f"stop_times:{line_number}", "file": "stop_times.txt", "cells": cells, "header_cells": len(header)})
    return scan


def _previous_known(values: np.ndarray, missing: np.ndarray, same_trip: np.ndarray) -> np.ndarray:
    """For each row, the last non-missing value before it in the same trip (positions: -1 when none)."""
    index = np.arange(-1, len(values) - 1, dtype=np.int32)  # the row before each row
    positions = np.where(np.r_[False, ~missing[:-1]], index, np.int32(-1))
    np.maximum.accumulate(positions, out=positions)
    starts = np.flatnonzero(~same_trip).astype(np.int32)
    trip_start = np.repeat(starts, np.diff(np.r_[starts, len(values)]))
    positions[positions < trip_start] = -1
    return positions


def _sort_rows(columns: list[np.ndarray]) -> list[np.ndarray]:
    """Sort the rows of `columns` (trip, sequence, others...) in place by trip, stop_sequence and
    file order (the order they come in), leaving out the rows without a trip_id; one column is
    reordered at a time, the unsorted one freed at once."""
    trip, sequence = columns[0], columns[1]
    if not len(sequence) or sequence.max() < 2**31:
        # One int64 key, built in place (trip in the high 32 bits, stop_sequence + 1 >= 0 in the
        # low ones), sorted stably so equal keys keep file order: cheaper than a lexsort and fast
        # on files already in order.
        key = trip.astype(np.int64)
        key <<= 32
        key += sequence
        key += 1
        order = np.argsort(key, kind="stable")
        del key
    else:
        order = np.lexsort((np.arange(len(trip)), sequence, trip))
    first = int(np.searchsorted(trip[order], 0))  # rows without a trip_id (trip -1) sort first
    order = order[first:]
    del trip, sequence
    for position in range(len(columns)):
        columns[position] = columns[position][order]
    return columns


@dataclass
class _TripTotals:
    """What the per-trip rules carry from one group of trips to the next (all per trip, not per row)."""

    names: list[str]
    coherence: Tally
    stop_times: np.ndarray  # stop times per trip number
    last: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    edges: list[tuple[np.ndarray, ...]] = field(default_factory=list)


def _rules_on_sorted(columns: list[np.ndarray], findings: Findings, totals: _TripTotals) -> None:
    """The per-trip rules on whole trips sorted by trip, stop_sequence and line (every stop time
    of a trip is in `columns`): called once, or once per bucket of trips in trip order, which
    offers every rule the same rows in the same order (so the same counts and examples)."""
    trip, sequence, arrival, departure, distance, stop, window, line = columns
    names = totals.names

    def example(i: int, **extra: Any) -> dict[str, Any]:
        return {"item": names[trip[i]], "line": int(line[i]), "stop_sequence": int(sequence[i]), **extra}

    same_trip = np.r_[False, trip[1:] == trip[:-1]] if len(trip) else np.zeros(0, bool)
    findings.add(schema.DUPLICATE_KEY, same_trip & (sequence >= 0) & np.r_[False, sequence[1:] == sequence[:-1]],
                 lambda i: {**example(i), "file": "stop_times.txt", "key": "trip_id, stop_sequence"})
    # Arrival (else departure) against the last departure (else arrival) known before it in the trip.
    here = np.where(arrival >= 0, arrival, departure)
    last_time = np.where(departure >= 0, departure, arrival)
    before = _previous_known(last_time, last_time < 0, same_trip) if len(trip) else np.empty(0, np.int64)
    previous = np.where(before >= 0, last_time[np.maximum(before, 0)], -1)
    findings.add(BEFORE_PREVIOUS, (here >= 0) & (previous >= 0) & (here < previous),
                 lambda i, here=here, previous=previous: example(
                     i, arrival_time=_time_text(int(here[i])), previous_departure_time=_time_text(int(previous[i]))))
    del here, last_time, before, previous  # row-sized temporaries: freed before the next ones
    known_distance = ~np.isnan(distance)
    before = _previous_known(distance, ~known_distance, same_trip) if len(trip) else np.empty(0, np.int64)
    previous_distance = np.where(before >= 0, distance[np.maximum(before, 0)], np.nan)
    findings.add(DISTANCE, known_distance & ~np.isnan(previous_distance) & (distance <= previous_distance),
                 lambda i, previous_distance=previous_distance: example(
                     i, shape_dist_traveled=float(distance[i]), previous=float(previous_distance[i])))
    del known_distance, before, previous_distance
    # Per trip: edges and size.
    starts = np.flatnonzero(~same_trip)
    ends = np.r_[starts[1:], len(trip)] - 1
    counts = ends - starts + 1
    timed = (arrival >= 0) & (departure >= 0) | window  # a window stands in for the times at an edge
    edge_bad = ~timed[starts] | ~timed[ends] if len(starts) else np.zeros(0, bool)
    findings.add(TRIP_EDGE, edge_bad, lambda k: example(int(starts[k] if not timed[starts[k]] else ends[k])))
    findings.add(UNUSABLE_TRIP, counts < 2, lambda k: {"item": names[trip[starts[k]]], "stop_times": int(counts[k])})
    totals.stop_times[trip[starts]] = counts
    # Arrival after departure at one stop: the project's own check (no MobilityData notice).
    both = (arrival >= 0) & (departure >= 0)
    outcomes = np.where(both, np.where(arrival > departure, 0, 1), -1).astype(np.int8)
    totals.coherence.add(outcomes, lambda i: {"item": f"stop_times:{line[i]}", "trip_id": names[trip[i]],
                                              "arrival_time": _time_text(int(arrival[i])), "departure_time": _time_text(int(departure[i]))})
    if len(trip):
        # Each trip's last stop time (by stop_sequence): its stop and distance, for trip_distance_exceeds_shape_distance.
        totals.last.append((trip[ends], stop[ends], distance[ends]))
        # Each trip's first and last times, for block_trips_with_overlapping_stop_times.
        totals.edges.append((trip[starts], arrival[starts], departure[starts], arrival[ends], departure[ends]))


def trip_rules(feed: GtfsFrames, scan: StopTimesScan, findings: Findings) -> dict[str, Any]:
    """The per-trip rules on the stop times sorted by trip, stop_sequence and line: on every stop
    time at once, or, when the scan spilled them to disk, bucket by bucket (trips in order)."""
    names = scan.trip_names
    totals = _TripTotals(names, Tally(COHERENCE, findings.seed), np.zeros(len(names), np.int64))
    if scan.spill is not None and scan.spill.written:
        _spill_parts(scan.spill, scan.parts)
        for bucket in scan.spill.buckets():
            _rules_on_sorted(_sort_rows(bucket), findings, totals)
            bucket.clear()
    else:
        columns: list[np.ndarray] = []
        for part, dtype in zip(scan.parts, (np.int32, np.int32, np.int32, np.int32, np.float32, np.int16, np.bool_), strict=True):
            columns.append(np.concatenate(part) if part else np.empty(0, dtype=dtype))
            part.clear()  # each column's batches are freed as soon as it is whole
        columns.append(np.arange(2, len(columns[0]) + 2, dtype=np.int32))  # a stop time's line is its position + 2
        _rules_on_sorted(_sort_rows(columns), findings, totals)
        columns.clear()
    if scan.phone_only:
        phone_line, phone_trip = (np.concatenate(column) for column in zip(*scan.phone_only, strict=True))
        findings.add(LONE_PHONE_RECORD, totals.stop_times[phone_trip] == 1,
                     lambda k: {"item": f"stop_times:{phone_line[k]}", "file": "stop_times.txt", "trip_id": names[phone_trip[k]]})
    listed = len(feed.frame("trips.txt")) if feed.frame("trips.txt") is not None else 0
    used = totals.stop_times > 0
    trips = feed.frame("trips.txt")
    if trips is not None and "trip_id" in trips.columns and feed.has("stop_times.txt"):
        ids = trips["trip_id"].astype(str).tolist()
        known = used[: len(set(ids))]
        position = {name: i for i, name in enumerate(names[: len(known)])}
        findings.add(UNUSED_TRIP, np.asarray([not known[position[t]] if t in position else True for t in ids], bool),
                     lambda i: {"item": ids[i], "file": "trips.txt"})
    last = tuple(np.concatenate(column) for column in zip(*totals.last, strict=True)) if totals.last else \
        (np.empty(0, np.int32), np.empty(0, np.int16), np.empty(0, np.float32))
    edges = tuple(np.concatenate(column) for column in zip(*totals.edges, strict=True)) if totals.edges else \
        tuple(np.empty(0, np.int32) for _ in range(5))
    return {"arrival_after_departure": totals.coherence, "trips_listed": listed, "last_stops": last, "trip_edges": edges,
            "spilled_buckets": scan.spill.bucket_count if scan.spill is not None else 0}
