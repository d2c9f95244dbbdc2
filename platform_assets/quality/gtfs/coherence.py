"""Per-trip and per-stop-time coherence rules (sequences, times, stop counts)."""

from __future__ import annotations

from typing import Any

import numpy as np

from platform_assets.lib.quality.check import short
from platform_assets.lib.quality.result import (
    FAILED,
    NOT_APPLICABLE,
    PASSED,
    CheckResult,
    Level,
)
from platform_assets.lib.quality.tally import Tally
from platform_assets.quality.gtfs.common import result_of as _result
from platform_assets.quality.gtfs.scan import StreamedScan, _forward_filled_previous, _time_text


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


