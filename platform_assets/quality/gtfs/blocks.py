"""Trips of one block that run at the same time on a common service date; learnt from
MobilityData/gtfs-validator's BlockTripsWithOverlappingStopTimesValidator (main/src/main/java/org/
mobilitydata/gtfsvalidator/validator/) and its service-date intersection (CalendarUtil)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from platform_assets.lib.deferred import np
from platform_assets.lib.gtfs.reader import GtfsFrames
from platform_assets.lib.quality.result import Level
from platform_assets.quality.gtfs.booking import text_column
from platform_assets.quality.gtfs.notices import ERROR, Findings, rule

BLOCK_OVERLAP = rule("block_trips_with_overlapping_stop_times", ERROR, "stop_times",
                     "two trips of one block_id do not run at the same time on a common service date", Level.ITEM)
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _ordinal(text: str) -> int | None:
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8])).toordinal() if len(text) == 8 and text.isdigit() else None
    except ValueError:
        return None


def service_dates(feed: GtfsFrames) -> dict[str, set[int]]:
    """Every service_id's dates (as ordinals): calendar.txt's weekdays in its range, then
    calendar_dates.txt's additions (1) and removals (2)."""
    dates: dict[str, set[int]] = defaultdict(set)
    calendar = feed.frame("calendar.txt")
    if calendar is not None and len(calendar):
        ids, starts, ends = (text_column(calendar, c) for c in ("service_id", "start_date", "end_date"))
        days = np.stack([(text_column(calendar, day) == "1").to_numpy() for day in DAYS], axis=1)
        for i in range(len(calendar)):
            start, end = _ordinal(starts.iat[i]), _ordinal(ends.iat[i])
            if start is None or end is None or end < start or end - start > 3660:  # ten years at most
                continue
            span = np.arange(start, end + 1)
            dates[ids.iat[i]].update(span[days[i][(span - 1) % 7]].tolist())  # ordinal 1 (0001-01-01) is a Monday
    exceptions = feed.frame("calendar_dates.txt")
    if exceptions is not None and len(exceptions):
        for service, day, kind in zip(*(text_column(exceptions, c) for c in ("service_id", "date", "exception_type")), strict=True):
            ordinal = _ordinal(day)
            if ordinal is None:
                continue
            if kind == "1":
                dates[service].add(ordinal)
            elif kind == "2":
                dates[service].discard(ordinal)
    return dates


def block_rules(feed: GtfsFrames, findings: Findings, edges: tuple[np.ndarray, ...], trip_names: list[str]) -> None:
    trips = feed.frame("trips.txt")
    if trips is None or "block_id" not in trips.columns or not len(edges[0]):
        return
    block_of = dict(zip(text_column(trips, "trip_id"), text_column(trips, "block_id"), strict=True))
    service_of = dict(zip(text_column(trips, "trip_id"), text_column(trips, "service_id"), strict=True))
    trip, first_arrival, first_departure, last_arrival, last_departure = edges
    blocks: dict[str, list[int]] = defaultdict(list)
    for k, number in enumerate(trip):
        name = trip_names[number]
        timed = min(first_arrival[k], first_departure[k], last_arrival[k], last_departure[k]) >= 0
        if timed and block_of.get(name):
            blocks[block_of[name]].append(k)
    dates = service_dates(feed) if blocks else {}
    shared: dict[tuple[str, str], int | None] = {}

    def common_date(a: str, b: str) -> int | None:
        key = (a, b) if a <= b else (b, a)
        if key not in shared:
            both = dates.get(a, set()) & dates.get(b, set())
            shared[key] = min(both) if both else None
        return shared[key]

    failures: list[dict[str, object]] = []
    checked = 0
    for block, members in blocks.items():
        members.sort(key=lambda k: (first_arrival[k], last_departure[k]))
        checked += len(members)
        for position, k in enumerate(members):
            for other in members[position + 1:]:
                if last_departure[k] <= first_arrival[other]:
                    break
                if last_arrival[k] == first_arrival[other] and last_departure[k] == first_departure[other]:
                    continue  # one trip hands over to the next at the same stop time
                a, b = trip_names[trip[k]], trip_names[trip[other]]
                day = common_date(service_of.get(a, ""), service_of.get(b, ""))
                if day is not None:
                    failures.append({"item": a, "block_id": block, "other_trip_id": b, "date": date.fromordinal(day).isoformat()})
    for failure in failures:
        findings.fail(BLOCK_OVERLAP, failure)
    findings.passed(BLOCK_OVERLAP, max(0, checked - 2 * len(failures)))
