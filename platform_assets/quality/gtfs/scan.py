"""One bounded pass over stop_times.txt and shapes.txt feeding every rule that needs them."""

from __future__ import annotations

import csv
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from platform_assets.lib.gtfs.errors import FeedError
from platform_assets.lib.gtfs.reader import GtfsFrames, TableChunk
from platform_assets.lib.quality.pandera_checks import pandera_results
from platform_assets.lib.quality.result import (
    CheckResult,
)
from platform_assets.lib.quality.tally import Tally
from platform_assets.quality.gtfs.references import stop_times_references
from platform_assets.quality.gtfs.schema import ROW_WIDTH, SCHEMAS, add_row_widths


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


