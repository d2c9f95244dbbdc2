"""shapes.txt, scanned columnar in bounded Arrow batches; rules from MobilityData/gtfs-validator's
ShapeIncreasingDistanceValidator and its LatLon notices (main/src/main/java/org/mobilitydata/
gtfsvalidator/validator/, core/.../notice/PointNearOriginNotice.java, PointNearPoleNotice.java)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from platform_assets.lib.deferred import np, pa, pc, pd
from platform_assets.lib.gtfs.reader import GtfsFrames
from platform_assets.lib.quality.result import Level
from platform_assets.quality.gtfs import schema
from platform_assets.quality.gtfs.notices import ERROR, WARNING, Findings, rule
from platform_assets.quality.gtfs.spill import RowSpill
from platform_assets.quality.gtfs.stop_times import FLOAT_PATTERN, INTEGER_PATTERN

COLUMNS = ("shape_id", "shape_pt_lat", "shape_pt_lon", "shape_pt_sequence", "shape_dist_traveled")
DECREASING = rule("decreasing_shape_distance", ERROR, "shapes",
                  "shape_dist_traveled never decreases along a shape (MobilityData's former decreasing_or_equal_shape_distance)", Level.ITEM)
EQUAL_DIFFERENT = rule("equal_shape_distance_diff_coordinates", ERROR, "shapes",
                       "two points of a shape at the same shape_dist_traveled are at the same place", Level.ITEM)
NEAR_ORIGIN = rule("point_near_origin", ERROR, "shapes", "no stop or shape point lies at (0, 0)")
NEAR_POLE = rule("point_near_pole", ERROR, "shapes", "no stop or shape point lies near a pole")
SINGLE_POINT = rule("single_shape_point", WARNING, "shapes", "a shape has more than one point", Level.ITEM)
UNUSED_SHAPE = rule("unused_shape", WARNING, "shapes", "every shape is used by a trip", Level.DATASET)
# MobilityData's TripAndShapeDistanceValidator: a trip's last stop time is further along than its
# shape's farthest point; ERROR when that point is more than 11.1 m from the last stop, else WARNING.
TRIP_PAST_SHAPE = rule("trip_distance_exceeds_shape_distance", ERROR, "shapes",
                       "a trip's last shape_dist_traveled does not exceed its shape's (stop more than 11.1 m from the shape's end)", Level.ITEM)
TRIP_PAST_SHAPE_NEAR = rule("trip_distance_exceeds_shape_distance_below_threshold", WARNING, "shapes",
                            "a trip's last shape_dist_traveled does not exceed its shape's (stop within 11.1 m of the shape's end)", Level.ITEM)
SHAPE_END_METRES = 11.1
# A shape point on disk (spill.py), in the order _point_rules reads its columns.
# numpy dtype fields, as names: numpy is imported by the first check run, not the code location.
SPILL_FIELDS = [("line", "int32"), ("shape", "int32"), ("sequence", "float64"), ("distance", "float64"),
                ("lat", "float64"), ("lon", "float64")]
EARTH_METRES = 6_371_010.0


def place_rules(findings: Findings, lat: np.ndarray, lon: np.ndarray, example_at: Any) -> None:
    """(0, 0) and polar coordinates, for stops and shape points (NaN: not checked here)."""
    findings.add(NEAR_ORIGIN, (np.abs(lat) <= 1) & (np.abs(lon) <= 1), example_at)
    findings.add(NEAR_POLE, np.abs(lat) >= 89, example_at)


def _numbers(column: pa.Array, pattern: str, dtype: type) -> tuple[np.ndarray, np.ndarray]:
    ok = pc.match_substring_regex(column, pattern).to_numpy(zero_copy_only=False)
    values = np.full(len(column), np.nan)
    values[ok] = pc.cast(pc.filter(column, pa.array(ok)), pa.float64()).to_numpy()
    return values, ok


def shapes_spill(folder: Path, rows: int) -> RowSpill:
    """Where shapes.txt's points wait once more than `rows` are held."""
    return RowSpill(folder, rows, np.dtype(SPILL_FIELDS), "shape", "shapes")


def _point_rules(columns: list[np.ndarray], names: list[str], findings: Findings, points: np.ndarray,
                 farthest: dict[str, tuple[float, float, float]] | None) -> None:
    """The rules along each shape, on whole shapes (all of them, or a bucket of them in shape
    order: the same rows offered in the same order either way): sorted by shape, sequence, line."""
    order = np.lexsort((columns[0], columns[2], columns[1]))
    line, shape, sequence, distance, lat, lon = (c[order] for c in columns)
    del order
    same = np.r_[False, shape[1:] == shape[:-1]]

    def at(i: int, **extra: Any) -> dict[str, Any]:
        return {"item": names[shape[i]], "line": int(line[i]), "shape_pt_sequence": sequence[i], **extra}

    previous_distance = np.r_[np.nan, distance[:-1]]
    known = same & ~np.isnan(distance) & ~np.isnan(previous_distance)
    findings.add(DECREASING, known & (distance < previous_distance), lambda i: at(i, shape_dist_traveled=distance[i], previous=previous_distance[i]))
    moved = (np.r_[np.nan, lat[:-1]] != lat) | (np.r_[np.nan, lon[:-1]] != lon)
    findings.add(EQUAL_DIFFERENT, known & (distance == previous_distance) & moved, lambda i: at(i, shape_dist_traveled=distance[i]))
    findings.add(schema.DUPLICATE_KEY, same & ~np.isnan(sequence) & (np.r_[np.nan, sequence[:-1]] == sequence),
                 lambda i: {**at(i), "file": "shapes.txt", "key": "shape_id, shape_pt_sequence"})
    starts = np.flatnonzero(~same)
    points[shape[starts]] = np.diff(np.r_[starts, len(shape)])
    if farthest is not None and len(shape):
        # Per shape, the first point (by sequence) of greatest distance (absent: 0, as MobilityData's default).
        along = np.nan_to_num(distance, nan=0.0)
        greatest = np.maximum.reduceat(along, starts)
        per_row = np.repeat(greatest, np.diff(np.r_[starts, len(along)]))
        first = np.minimum.reduceat(np.where(along == per_row, np.arange(len(along)), len(along)), starts)
        for k, i in enumerate(first):
            farthest[names[shape[starts[k]]]] = (float(greatest[k]), float(lat[i]), float(lon[i]))


def scan_shapes(feed: GtfsFrames, findings: Findings, farthest: dict[str, tuple[float, float, float]] | None = None,
                spill: RowSpill | None = None) -> set[str]:
    """One bounded pass over shapes.txt; returns the shape ids (for trips.shape_id) and fills
    `farthest` with each shape's point of greatest shape_dist_traveled (distance, lat, lon). The
    points go to `spill` whenever more than `spill.rows` are held."""
    header = feed.headers.get("shapes.txt") or []
    if "shapes.txt" not in feed.streamed or not header:
        return set()
    for column in ("shape_id", "shape_pt_lat", "shape_pt_lon", "shape_pt_sequence"):
        if column in header:
            findings.passed(schema.MISSING_COLUMN)
        else:
            findings.fail(schema.MISSING_COLUMN, {"item": "shapes.txt", "file": "shapes.txt", "column": column})
    shape_ids: dict[str, int] = {}
    parts: list[tuple[np.ndarray, ...]] = []
    held = 0  # points in parts
    for offset, batch in feed.batches("shapes.txt", COLUMNS):
        rows = batch.num_rows
        line = np.arange(offset + 2, offset + 2 + rows, dtype=np.int32)
        cols = {name: batch.column(name) for name in batch.schema.names}

        def example(i: int, column: str = "shape_id", cols: dict[str, pa.Array] = cols, line: np.ndarray = line) -> dict[str, Any]:
            return {"item": f"shapes:{line[i]}", "file": "shapes.txt", "column": column,
                    "value": cols[column][i].as_py() if column in cols else None}

        values: dict[str, np.ndarray] = {}
        for column, pattern, low, high in (("shape_pt_lat", FLOAT_PATTERN, -90, 90), ("shape_pt_lon", FLOAT_PATTERN, -180, 180),
                                           ("shape_pt_sequence", INTEGER_PATTERN, 0, np.inf), ("shape_dist_traveled", FLOAT_PATTERN, 0, np.inf)):
            if column not in cols:
                values[column] = np.full(rows, np.nan)
                continue
            empty = pc.equal(cols[column], "").to_numpy(zero_copy_only=False)
            number, ok = _numbers(cols[column], pattern, float)
            code = schema.INVALID_INTEGER if pattern == INTEGER_PATTERN else schema.INVALID_FLOAT
            findings.add(code, ~ok & ~empty, lambda i, c=column: example(i, c))
            if column != "shape_dist_traveled":
                findings.add(schema.MISSING_FIELD, empty, lambda i, c=column: example(i, c))
            findings.add(schema.OUT_OF_RANGE, ok & ((number < low) | (number > high)), lambda i, c=column: example(i, c))
            values[column] = number
        place_rules(findings, values["shape_pt_lat"], values["shape_pt_lon"], lambda i: example(i, "shape_pt_lat"))
        if "shape_id" not in cols:
            continue
        ids = cols["shape_id"]
        findings.add(schema.MISSING_FIELD, pc.equal(ids, "").to_numpy(zero_copy_only=False), lambda i: example(i))
        encoded = pc.dictionary_encode(ids)  # shape numbers looked up per distinct shape of the batch
        uniques = encoded.dictionary.to_pylist()
        for name in uniques:
            shape_ids.setdefault(name, len(shape_ids))
        shape = np.asarray([shape_ids[name] for name in uniques], dtype=np.int32)[encoded.indices.to_numpy(zero_copy_only=False)] \
            if uniques else np.empty(0, np.int32)
        parts.append((line, shape, values["shape_pt_sequence"], values["shape_dist_traveled"], values["shape_pt_lat"], values["shape_pt_lon"]))
        held += rows
        if spill is not None and held > spill.rows:
            spill.write([np.concatenate(c) for c in zip(*parts, strict=True)])
            parts.clear()
            held = 0
    for line_number, cells in feed.cut_rows.get("shapes.txt", []):
        findings.fail(schema.ROW_LENGTH, {"item": f"shapes:{line_number}", "file": "shapes.txt", "cells": cells, "header_cells": len(header)})
    names = list(shape_ids)
    points = np.zeros(len(names), np.int64)  # points per shape number
    if spill is not None and spill.written:
        spill.write([np.concatenate(c) for c in zip(*parts, strict=True)] if parts else [])
        parts.clear()
        for bucket in spill.buckets():
            _point_rules(bucket, names, findings, points, farthest)
            bucket.clear()
    elif parts:
        columns = [np.concatenate(c) for c in zip(*parts, strict=True)]
        parts.clear()
        _point_rules(columns, names, findings, points, farthest)
        columns.clear()
    if names:
        findings.add(SINGLE_POINT, points == 1, lambda k: {"item": names[k], "points": int(points[k])})
    used = set(feed.column("trips.txt", "shape_id").dropna().astype(str))
    if feed.has("trips.txt"):
        findings.add(UNUSED_SHAPE, np.asarray([name not in used for name in names], bool), lambda k: {"item": names[k], "file": "shapes.txt"})
    return set(names)


def metres_between(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance (haversine) in metres."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(v, float)) for v in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_METRES * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def trip_distance_rules(feed: GtfsFrames, findings: Findings, last_stops: tuple[np.ndarray, np.ndarray, np.ndarray],
                        trip_names: list[str], stop_names: list[str], farthest: dict[str, tuple[float, float, float]]) -> None:
    """Each trip with stop times and a shape: is its last stop time further along than the shape?"""
    trips, stops = feed.frame("trips.txt"), feed.frame("stops.txt")
    if not farthest or trips is None or stops is None or not {"trip_id", "shape_id"} <= set(trips.columns):
        return
    trip, stop, distance = last_stops
    shape_of = dict(zip(trips["trip_id"].astype(str), trips["shape_id"].fillna("").astype(str), strict=True))
    stop_frame = stops.drop_duplicates("stop_id").set_index("stop_id")
    stop_lat = pd.to_numeric(stop_frame["stop_lat"], errors="coerce").reindex(stop_names).to_numpy(float) if "stop_lat" in stop_frame else None
    stop_lon = pd.to_numeric(stop_frame["stop_lon"], errors="coerce").reindex(stop_names).to_numpy(float) if "stop_lon" in stop_frame else None
    if stop_lat is None or stop_lon is None:
        return
    shapes = [farthest.get(shape_of.get(trip_names[t], "")) for t in trip]
    # Checked: a shape with a positive farthest distance and a last stop in stops.txt.
    checked = np.asarray([f is not None and f[0] != 0 for f in shapes], bool) & (stop >= 0)
    where = np.flatnonzero(checked)
    if not len(where):
        return
    shape_distance = np.asarray([shapes[i][0] for i in where])  # type: ignore[index]
    shape_lat = np.asarray([shapes[i][1] for i in where])  # type: ignore[index]
    shape_lon = np.asarray([shapes[i][2] for i in where])  # type: ignore[index]
    trip_distance = np.nan_to_num(distance[where].astype(float), nan=0.0)
    metres = metres_between(shape_lat, shape_lon, stop_lat[stop[where]], stop_lon[stop[where]])
    past = trip_distance > shape_distance
    far = ~(metres <= SHAPE_END_METRES)  # an unknown stop position counts as far

    def example(k: int) -> dict[str, Any]:
        i = where[k]
        return {"item": trip_names[trip[i]], "shape_id": shape_of.get(trip_names[trip[i]], ""), "trip_distance": float(trip_distance[k]),
                "shape_distance": float(shape_distance[k]), "metres_from_shape_end": round(float(metres[k]), 1)}

    findings.add(TRIP_PAST_SHAPE, past & far, example)
    findings.add(TRIP_PAST_SHAPE_NEAR, past & ~far, example)
