"""The project's own dataset checks (no MobilityData notice): trips per route, close stops."""

from __future__ import annotations

import math
from typing import Any

from platform_assets.lib.deferred import np, pd
from platform_assets.lib.gtfs.reader import GtfsFrames
from platform_assets.lib.quality.result import (
    FAILED,
    NOT_APPLICABLE,
    PASSED,
    CheckResult,
    Level,
)
from platform_assets.lib.quality.tally import Tally
from platform_assets.quality.gtfs.common import result_of as _result

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


def close_stops(feed: GtfsFrames, seed: int = 0, metres: float = STOPS_TOO_CLOSE_METRES) -> CheckResult:
    """Stops of the same kind within `metres` of each other, unless platforms of one station:
    informational only (never fails: MobilityData has no such error, and stops serving both
    directions of a street often share rounded coordinates). A grid hash of cells `metres` wide
    compares each stop with the stops of its own and neighbouring cells only: n log n for any
    layout (issue 18 item 4b), not a latitude window that degrades when many stops share one."""
    name = "dataset.stops.close_pairs"
    tally = Tally(name, seed)
    stops = feed.frame("stops.txt")
    if stops is not None and {"stop_id", "stop_lat", "stop_lon"} <= set(stops.columns) and len(stops):
        lat = pd.to_numeric(stops["stop_lat"], errors="coerce").to_numpy(float)
        lon = pd.to_numeric(stops["stop_lon"], errors="coerce").to_numpy(float)
        kind = (stops["location_type"].fillna("0") if "location_type" in stops.columns else pd.Series("0", index=stops.index)).to_numpy()
        parent = (stops["parent_station"] if "parent_station" in stops.columns else pd.Series(np.nan, index=stops.index)).to_numpy()
        ids = stops["stop_id"].astype(str).to_numpy()
        located = ~np.isnan(lat) & ~np.isnan(lon)
        # Equirectangular metres, good to a few cm at 2 m.
        y = np.radians(np.where(located, lat, 0)) * 6_371_000
        x = np.radians(np.where(located, lon, 0)) * 6_371_000 * np.cos(np.radians(np.where(located, lat, 0)))
        cells: dict[tuple[int, int], list[int]] = {}
        for i in np.flatnonzero(located):
            cells.setdefault((int(x[i] // metres), int(y[i] // metres)), []).append(int(i))
        close_to: dict[int, tuple[int, float]] = {}
        for (cx, cy), members in cells.items():
            neighbours = [j for dx in (-1, 0, 1) for dy in (-1, 0, 1) for j in cells.get((cx + dx, cy + dy), ())]
            for i in members:
                for j in neighbours:
                    if j <= i or kind[i] != kind[j] or (isinstance(parent[i], str) and parent[i] == parent[j]):
                        continue
                    distance = math.hypot(x[i] - x[j], y[i] - y[j])
                    if distance <= metres:
                        close_to.setdefault(i, (j, distance))
                        close_to.setdefault(j, (i, distance))
        outcomes = np.where(located, PASSED, NOT_APPLICABLE).astype(np.int8)
        outcomes[list(close_to)] = FAILED

        def example(i: int) -> dict[str, Any]:
            if i in close_to:
                j, distance = close_to[i]
                return {"item": ids[i], "near": ids[j], "metres": round(distance, 2)}
            return {"item": ids[i]}

        tally.add(outcomes, example)
    result = _result(name, Level.DATASET, f"stops of the same kind within {metres:g} m of each other (informational)", tally,
                     severity="INFO")
    result.threshold = 0.0  # informational: never fails
    return result
