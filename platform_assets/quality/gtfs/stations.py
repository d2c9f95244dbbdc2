"""Stations and what links stops: pathways, levels, stop_access, transfers, translations and
geography ids; learnt from MobilityData/gtfs-validator's PathwayEndpointType-, PathwayStopAccess-,
PathwayReachableLocation-, BidirectionalExitGate-, MissingLevelId-, StopAccess-, TransfersStopType-,
TransfersTripReference-, TranslationFieldAndReference- and UniqueGeographyIdValidator
(main/src/main/java/org/mobilitydata/gtfsvalidator/validator/)."""

from __future__ import annotations

from collections import defaultdict, deque
from typing import Any

from platform_assets.lib.deferred import np, pd
from platform_assets.lib.gtfs.reader import GtfsFrames
from platform_assets.lib.quality.result import Level
from platform_assets.quality.gtfs.booking import text_column
from platform_assets.quality.gtfs.notices import ERROR, WARNING, Findings, rule

TO_PLATFORM_WITH_AREAS = rule("pathway_to_platform_with_boarding_areas", ERROR, "stops",
                              "a pathway does not end at a platform that has boarding areas (it ends at a boarding area)", Level.ITEM)
TO_WRONG_TYPE = rule("pathway_to_wrong_location_type", ERROR, "stops", "a pathway does not end at a station (location_type 1)", Level.ITEM)
UNREACHABLE = rule("pathway_unreachable_location", ERROR, "stops",
                   "in a station with pathways, every platform, node and boarding area is reachable from and to an entrance", Level.ITEM)
TO_STREET_STOP = rule("pathway_to_stop_with_access_outside_of_station_pathways", ERROR, "stops",
                      "no pathway ends at a stop with stop_access=1 (reached from the street)", Level.ITEM)
EXIT_GATE = rule("bidirectional_exit_gate", ERROR, "stops", "an exit gate (pathway_mode 7) is not bidirectional", Level.ITEM)
MISSING_LEVEL = rule("missing_level_id", ERROR, "stops", "the stops an elevator (pathway_mode 5) links have a level_id", Level.ITEM)
ACCESS_WRONG_TYPE = rule("stop_access_specified_for_incorrect_location", ERROR, "stops",
                         "stop_access is only given for stops (location_type 0)", Level.ITEM)
ACCESS_NO_PARENT = rule("stop_access_specified_for_stop_with_no_parent_station", ERROR, "stops",
                        "a stop with stop_access has a parent_station", Level.ITEM)
TRANSFER_STOP_TYPE = rule("transfer_with_invalid_stop_location_type", ERROR, "references",
                          "transfers link stops or stations (location_type 0 or 1)", Level.ITEM)
TRANSFER_TRIP_ROUTE = rule("transfer_with_invalid_trip_and_route", ERROR, "references",
                           "a transfer's trip belongs to its route", Level.ITEM)
TRANSFER_TRIP_STOP = rule("transfer_with_invalid_trip_and_stop", ERROR, "references",
                          "a transfer's trip stops at its stop (or a stop of its station)", Level.ITEM)
TRANSLATION_KEY = rule("translation_foreign_key_violation", ERROR, "references",
                       "a translation's record_id (and record_sub_id) names a row of its table", Level.ITEM)
TRANSLATION_VALUE = rule("translation_unexpected_value", ERROR, "references",
                         "a translation gives record_id / record_sub_id only where its table has such keys, never with field_value", Level.ITEM)
TRANSLATION_TABLE = rule("translation_unknown_table_name", WARNING, "references",
                         "a translation's table_name is a file of the feed", Level.ITEM)
GEOGRAPHY_ID = rule("duplicate_geography_id", ERROR, "references",
                    "stops.stop_id, location_groups.location_group_id and locations.geojson ids are distinct", Level.ITEM)

STOP, STATION, ENTRANCE, NODE, BOARDING_AREA = "0", "1", "2", "3", "4"
ELEVATOR, EXIT_GATE_MODE = "5", "7"
# translations.txt: the key columns record_id (and record_sub_id) name, per table (the GTFS reference).
TRANSLATION_KEYS = {"agency": ("agency_id",), "stops": ("stop_id",), "routes": ("route_id",), "trips": ("trip_id",),
                    "stop_times": ("trip_id", "stop_sequence"), "pathways": ("pathway_id",), "levels": ("level_id",),
                    "attributions": ("attribution_id",), "feed_info": ()}


class Stops:
    """stops.txt as look-ups: location type, parent and children of every stop_id."""

    def __init__(self, stops: pd.DataFrame | None) -> None:
        stops = stops if stops is not None and "stop_id" in stops.columns else pd.DataFrame({"stop_id": []})
        self.ids = text_column(stops, "stop_id")
        self.kind = text_column(stops, "location_type").replace("", STOP)
        self.parent = text_column(stops, "parent_station")
        self.kind_of = dict(zip(self.ids, self.kind, strict=True))
        self.parent_of = dict(zip(self.ids, self.parent, strict=True))
        self.children: dict[str, list[str]] = defaultdict(list)
        for stop_id, parent in zip(self.ids, self.parent, strict=True):
            if parent:
                self.children[parent].append(stop_id)

    def station_of(self, stop_id: str) -> str | None:
        """The station a location is in (itself for a station), following parents up to 3 levels."""
        for _ in range(4):
            if self.kind_of.get(stop_id) == STATION:
                return stop_id
            stop_id = self.parent_of.get(stop_id, "")
            if not stop_id:
                return None
        return None


def station_rules(feed: GtfsFrames, findings: Findings, trip_stops: dict[str, set[str]], geojson_ids: list[str]) -> None:
    stops = Stops(feed.frame("stops.txt"))
    _stop_access(feed, findings, stops)
    _pathways(feed, findings, stops)
    _transfers(feed, findings, stops, trip_stops)
    _geography_ids(feed, findings, stops, geojson_ids)


def _stop_access(feed: GtfsFrames, findings: Findings, stops: Stops) -> None:
    frame = feed.frame("stops.txt")
    if frame is None or "stop_access" not in frame.columns:
        return
    given = (text_column(frame, "stop_access") != "").to_numpy()
    plain = (stops.kind == STOP).to_numpy()

    def example(i: int) -> dict[str, Any]:
        return {"item": stops.ids.iat[i], "file": "stops.txt", "location_type": stops.kind.iat[i]}

    findings.add(ACCESS_WRONG_TYPE, given & ~plain, example)
    findings.add(ACCESS_NO_PARENT, given & plain & (stops.parent == "").to_numpy(), example)


def _pathways(feed: GtfsFrames, findings: Findings, stops: Stops) -> None:
    pathways = feed.frame("pathways.txt")
    if pathways is None or not len(pathways):
        return
    ids, source, target = (text_column(pathways, c) for c in ("pathway_id", "from_stop_id", "to_stop_id"))
    mode, both_ways = text_column(pathways, "pathway_mode").to_numpy(), (text_column(pathways, "is_bidirectional") == "1").to_numpy()

    def example(i: int, **extra: Any) -> dict[str, Any]:
        return {"item": ids.iat[i], "file": "pathways.txt", "line": i + 2, **extra}

    findings.add(EXIT_GATE, (mode == EXIT_GATE_MODE) & both_ways, example)
    # Each end: a station is the wrong type; a platform with boarding areas should be left by them.
    ends = pd.concat([source, target], ignore_index=True)
    end_kind = ends.map(stops.kind_of).fillna("")
    with_areas = ends.map(lambda stop_id: any(stops.kind_of.get(c) == BOARDING_AREA for c in stops.children.get(stop_id, ())))
    count = len(pathways)
    findings.add(TO_WRONG_TYPE, (end_kind == STATION).to_numpy(), lambda k: example(k % count, stop_id=ends.iat[k]))
    findings.add(TO_PLATFORM_WITH_AREAS, ((end_kind == STOP) & with_areas).to_numpy(), lambda k: example(k % count, stop_id=ends.iat[k]))
    frame = feed.frame("stops.txt")
    if frame is not None and "stop_access" in frame.columns:
        street = set(stops.ids[(text_column(frame, "stop_access") == "1").to_numpy()])
        hits = [(i, stop_id) for i in range(count) for stop_id in dict.fromkeys((source.iat[i], target.iat[i])) if stop_id in street]
        findings.add(TO_STREET_STOP, np.ones(len(hits), bool), lambda k: example(hits[k][0], stop_id=hits[k][1]))
        findings.passed(TO_STREET_STOP, 2 * count - len(hits))
    levels = set(stops.ids[(text_column(frame, "level_id") != "").to_numpy()]) if frame is not None else set()
    elevator_ends = sorted({stop_id for i in np.flatnonzero(mode == ELEVATOR) for stop_id in (source.iat[i], target.iat[i])
                            if stop_id in stops.kind_of})
    findings.add(MISSING_LEVEL, np.asarray([stop_id not in levels for stop_id in elevator_ends], bool),
                 lambda k: {"item": elevator_ends[k], "file": "stops.txt"})
    _reachability(findings, stops, list(zip(source, target, both_ways, strict=True)))


def _reachability(findings: Findings, stops: Stops, edges: list[tuple[str, str, bool]]) -> None:
    """Breadth-first from every entrance along the pathways (forwards, and backwards towards exits)."""
    forward: dict[str, list[str]] = defaultdict(list)
    backward: dict[str, list[str]] = defaultdict(list)
    for source, target, both_ways in edges:
        forward[source].append(target)
        backward[target].append(source)
        if both_ways:
            forward[target].append(source)
            backward[source].append(target)
    entrances = [stop_id for stop_id, kind in stops.kind_of.items() if kind == ENTRANCE]

    def reached(links: dict[str, list[str]]) -> set[str]:
        seen, queue = set(entrances), deque(entrances)
        while queue:
            for other in links.get(queue.popleft(), ()):
                if other not in seen:
                    seen.add(other)
                    queue.append(other)
        return seen

    from_entrance, to_exit = reached(forward), reached(backward)
    stations = {station for source, target, _ in edges for stop_id in (source, target) if (station := stops.station_of(stop_id))}
    candidates = [stop_id for stop_id, kind in stops.kind_of.items()
                  if stops.station_of(stop_id) in stations
                  and (kind in (NODE, BOARDING_AREA) or (kind == STOP and not any(
                      stops.kind_of.get(c) == BOARDING_AREA for c in stops.children.get(stop_id, ()))))]
    findings.add(UNREACHABLE, np.asarray([not (c in from_entrance and c in to_exit) for c in candidates], bool),
                 lambda k: {"item": candidates[k], "file": "stops.txt", "has_entrance": candidates[k] in from_entrance,
                            "has_exit": candidates[k] in to_exit})


def transfer_trips(feed: GtfsFrames) -> set[str]:
    """Trips named by transfers.txt (the stop_times scan keeps their stop ids)."""
    transfers = feed.frame("transfers.txt")
    if transfers is None:
        return set()
    return {trip for column in ("from_trip_id", "to_trip_id") for trip in text_column(transfers, column) if trip}


def _transfers(feed: GtfsFrames, findings: Findings, stops: Stops, trip_stops: dict[str, set[str]]) -> None:
    transfers = feed.frame("transfers.txt")
    if transfers is None or not len(transfers):
        return
    trips = feed.frame("trips.txt")
    route_of = dict(zip(text_column(trips, "trip_id"), text_column(trips, "route_id"), strict=True)) if trips is not None else {}
    for side in ("from", "to"):
        stop, route, trip = (text_column(transfers, f"{side}_{c}") for c in ("stop_id", "route_id", "trip_id"))

        def example(i: int, side: str = side, stop: pd.Series = stop, trip: pd.Series = trip) -> dict[str, Any]:
            return {"item": f"transfers:{i + 2}", "file": "transfers.txt", f"{side}_stop_id": stop.iat[i], f"{side}_trip_id": trip.iat[i]}

        kind = stop.map(stops.kind_of).fillna("")
        findings.add(TRANSFER_STOP_TYPE, ((kind != "") & ~kind.isin([STOP, STATION])).to_numpy(), example)
        known_trip = trip.isin(route_of).to_numpy()
        findings.add(TRANSFER_TRIP_ROUTE, known_trip & (route != "").to_numpy() & (route != trip.map(route_of).fillna("")).to_numpy(), example)
        bad_stop = np.zeros(len(transfers), bool)
        for i in np.flatnonzero(known_trip & (kind != "").to_numpy()):
            stop_id = stop.iat[i]
            served = {stop_id} if kind.iat[i] == STOP else set(stops.children.get(stop_id, ())) if kind.iat[i] == STATION else set()
            bad_stop[i] = not (served & trip_stops.get(trip.iat[i], set()))
        findings.add(TRANSFER_TRIP_STOP, bad_stop, example)


def translation_rules(feed: GtfsFrames, findings: Findings, trip_sequences: dict[str, set[str]]) -> None:
    translations = feed.frame("translations.txt")
    if translations is None or "table_name" not in translations.columns or not len(translations):
        return
    table, value = text_column(translations, "table_name"), text_column(translations, "field_value")
    record, sub = text_column(translations, "record_id"), text_column(translations, "record_sub_id")
    keys_of: dict[str, set[tuple[str, ...]]] = {}
    unexpected = np.zeros(len(translations), bool)
    broken = np.zeros(len(translations), bool)
    unknown = np.zeros(len(translations), bool)
    for i in range(len(translations)):
        name, with_value, has_record, has_sub = table.iat[i], value.iat[i] != "", record.iat[i] != "", sub.iat[i] != ""
        keys = TRANSLATION_KEYS.get(name)
        unknown[i] = not feed.has(f"{name}.txt")
        if with_value:
            unexpected[i] = has_record or has_sub
            continue
        if keys is None or not feed.has(f"{name}.txt"):  # other tables: not checked here
            continue
        if has_record != (len(keys) >= 1) or has_sub != (len(keys) >= 2):
            unexpected[i] = (has_record and not keys) or (has_sub and len(keys) < 2)
            continue
        if not keys:
            continue
        if name == "stop_times":
            broken[i] = sub.iat[i] not in trip_sequences.get(record.iat[i], set())
            continue
        if name not in keys_of:
            keys_of[name] = set(zip(*(text_column(feed.frame(f"{name}.txt"), key) for key in keys), strict=True))  # type: ignore[arg-type]
        broken[i] = (record.iat[i],) not in keys_of[name]

    def example(i: int) -> dict[str, Any]:
        return {"item": f"translations:{i + 2}", "file": "translations.txt", "table_name": table.iat[i],
                "record_id": record.iat[i], "record_sub_id": sub.iat[i]}

    findings.add(TRANSLATION_VALUE, unexpected, example)
    findings.add(TRANSLATION_KEY, broken, example)
    findings.add(TRANSLATION_TABLE, unknown, example)


def translation_trips(feed: GtfsFrames) -> set[str]:
    """Trips named by stop_times translations (the stop_times scan keeps their stop_sequence values)."""
    translations = feed.frame("translations.txt")
    if translations is None or "table_name" not in translations.columns:
        return set()
    return set(text_column(translations, "record_id")[(text_column(translations, "table_name") == "stop_times").to_numpy()])


def _geography_ids(feed: GtfsFrames, findings: Findings, stops: Stops, geojson_ids: list[str]) -> None:
    """stop_id, location_group_id and GeoJSON location ids share one name space (the same id twice
    in one file is duplicate_key, not this)."""
    owners: dict[str, set[str]] = defaultdict(set)
    for stop_id in stops.ids:
        owners[stop_id].add("stops.txt")
    groups = feed.frame("location_groups.txt")
    if groups is None and not geojson_ids:
        return
    if groups is not None:
        for group_id in text_column(groups, "location_group_id"):
            owners[group_id].add("location_groups.txt")
    for location_id in geojson_ids:
        owners[location_id].add("locations.geojson")
    names = sorted(owners)
    findings.add(GEOGRAPHY_ID, np.asarray([len(owners[name]) > 1 for name in names], bool),
                 lambda k: {"item": names[k], "files": sorted(owners[names[k]])})
