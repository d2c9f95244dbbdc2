"""shapes.txt, scanned columnar in bounded Arrow batches; rules from MobilityData/gtfs-validator's
ShapeIncreasingDistanceValidator and its LatLon notices (main/src/main/java/org/mobilitydata/
gtfsvalidator/validator/, core/.../notice/PointNearOriginNotice.java, PointNearPoleNotice.java)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from platform_assets.lib.gtfs.reader import GtfsFrames
from platform_assets.lib.quality.result import Level
from platform_assets.quality.gtfs import schema
from platform_assets.quality.gtfs.notices import ERROR, WARNING, Findings, rule
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


def place_rules(findings: Findings, lat: np.ndarray, lon: np.ndarray, example_at: Any) -> None:
    """(0, 0) and polar coordinates, for stops and shape points (NaN: not checked here)."""
    findings.add(NEAR_ORIGIN, (np.abs(lat) <= 1) & (np.abs(lon) <= 1), example_at)
    findings.add(NEAR_POLE, np.abs(lat) >= 89, example_at)


def _numbers(column: pa.Array, pattern: str, dtype: type) -> tuple[np.ndarray, np.ndarray]:
    ok = pc.match_substring_regex(column, pattern).to_numpy(zero_copy_only=False)
    values = np.full(len(column), np.nan)
    values[ok] = pc.cast(pc.filter(column, pa.array(ok)), pa.float64()).to_numpy()
    return values, ok


def scan_shapes(feed: GtfsFrames, findings: Findings) -> set[str]:
    """One bounded pass over shapes.txt; returns the shape ids (for trips.shape_id)."""
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
        uniques = pc.unique(ids).to_pylist()
        for name in uniques:
            shape_ids.setdefault(name, len(shape_ids))
        number_of = pa.array(list(shape_ids), pa.string())
        shape = pc.index_in(ids, value_set=number_of).to_numpy(zero_copy_only=False).astype(np.int32)
        parts.append((line, shape, values["shape_pt_sequence"], values["shape_dist_traveled"], values["shape_pt_lat"], values["shape_pt_lon"]))
    for line_number, cells in feed.cut_rows.get("shapes.txt", []):
        findings.fail(schema.ROW_LENGTH, {"item": f"shapes:{line_number}", "file": "shapes.txt", "cells": cells, "header_cells": len(header)})
    names = list(shape_ids)
    if parts:
        line, shape, sequence, distance, lat, lon = (np.concatenate(c) for c in zip(*parts, strict=True))
        order = np.lexsort((line, sequence, shape))
        line, shape, sequence, distance, lat, lon = (c[order] for c in (line, shape, sequence, distance, lat, lon))
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
        counts = np.bincount(shape, minlength=len(names))
        findings.add(SINGLE_POINT, counts == 1, lambda k: {"item": names[k], "points": int(counts[k])})
    used = set(feed.column("trips.txt", "shape_id").dropna().astype(str))
    if feed.has("trips.txt"):
        findings.add(UNUSED_SHAPE, np.asarray([name not in used for name in names], bool), lambda k: {"item": names[k], "file": "shapes.txt"})
    return set(names)
