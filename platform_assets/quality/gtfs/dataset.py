"""Dataset rules over whole tables: trips per route, orphan stops, duplicate stop locations."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from platform_assets.lib.gtfs.reader import GtfsFrames
from platform_assets.lib.quality.check import short
from platform_assets.lib.quality.result import (
    FAILED,
    NOT_APPLICABLE,
    PASSED,
    CheckResult,
    Level,
)
from platform_assets.lib.quality.tally import Tally
from platform_assets.quality.gtfs.common import keys_of as _keys
from platform_assets.quality.gtfs.common import result_of as _result
from platform_assets.quality.gtfs.scan import StreamedScan

STOPS_TOO_CLOSE_METRES = 2.0  # transitfeed's "duplicate stop" distance


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


