"""Rules over the tables read whole (stops, routes, agency, calendar, feed_info, frequencies) and
their references; learnt from MobilityData/gtfs-validator's LocationTypeSingleEntity-,
ParentStation-, StopRequiredLocation-, StopName-, RouteName-, AgencyConsistency-, OverlappingFrequency-,
ExpiredCalendar-, FeedExpirationDate- and LocationHasStopTimesValidator (main/src/main/java/org/mobilitydata/gtfsvalidator/validator/)."""

from __future__ import annotations

import math
from collections.abc import Collection
from datetime import date, timedelta
from typing import Any

from platform_assets.lib.deferred import np, pd
from platform_assets.lib.gtfs.reader import GtfsFrames
from platform_assets.lib.quality.check import short
from platform_assets.lib.quality.result import Level
from platform_assets.quality.gtfs import schema
from platform_assets.quality.gtfs.notices import ERROR, INFO, WARNING, Findings, rule
from platform_assets.quality.gtfs.shapes import place_rules

STATION_PARENT = rule("station_with_parent_station", ERROR, "stops", "a station (location_type 1) has no parent_station", Level.ITEM)
NO_LOCATION = rule("stop_without_location", ERROR, "stops", "stops, stations and entrances (location_type 0-2) have stop_lat and stop_lon", Level.ITEM)
NO_NAME = rule("missing_stop_name", ERROR, "stops", "stops, stations and entrances (location_type 0-2) have a stop_name", Level.ITEM)
NO_PARENT = rule("location_without_parent_station", ERROR, "stops", "entrances, generic nodes and boarding areas have a parent_station", Level.ITEM)
WRONG_PARENT = rule("wrong_parent_location_type", ERROR, "stops", "a parent_station has the location_type its child requires", Level.ITEM)
PLATFORM_NO_PARENT = rule("platform_without_parent_station", INFO, "stops", "a stop with a platform_code has a parent station", Level.ITEM)
# Served: named by stop_times.stop_id, or a member (location_group_stops.txt) of a location group
# that stop_times.location_group_id names; transfers, pathways and unused groups do not count
# (LocationHasStopTimesValidator.java in main/src/main/java/org/mobilitydata/gtfsvalidator/validator/).
NO_STOP_TIME = rule("stop_without_stop_time", WARNING, "stops",
                    "every stop (location_type 0) is served by a stop time, directly or in a location group it uses", Level.DATASET)
UNUSED_STATION = rule("unused_station", INFO, "stops", "every station has a child stop", Level.DATASET)
ROUTE_NAMES = rule("route_both_short_and_long_name_missing", ERROR, "routes", "a route has a short or a long name", Level.ITEM)
SHORT_NAME_LONG = rule("route_short_name_too_long", WARNING, "routes", "route_short_name has at most 12 characters", Level.ITEM)
SAME_ROUTE_NAME_DESC = rule("same_name_and_description_for_route", WARNING, "routes", "route_desc differs from the route's names", Level.ITEM)
AGENCY_ID = rule("missing_required_agency_id", ERROR, "routes", "with several agencies, routes.agency_id is given", Level.ITEM)
AGENCY_TIMEZONE = rule("inconsistent_agency_timezone", ERROR, "routes", "every agency has the same agency_timezone", Level.DATASET)
RANGE_ORDER = rule("start_and_end_range_out_of_order", ERROR, "calendar", "a range's start is not after its end (calendar, feed_info, frequencies)", Level.ITEM)
RANGE_EQUAL = rule("start_and_end_range_equal", ERROR, "calendar", "a frequency's start_time differs from its end_time", Level.ITEM)
OVERLAPPING = rule("overlapping_frequency", ERROR, "calendar", "frequencies of one trip do not overlap", Level.ITEM)
NO_ACTIVE_DAY = rule("service_has_no_active_day_of_the_week", WARNING, "calendar", "a calendar service runs on some day of the week", Level.ITEM)
EXPIRED = rule("expired_calendar", WARNING, "calendar", "some service of calendar.txt runs today or later", Level.DATASET)
EXPIRES_7 = rule("feed_expiration_date7_days", WARNING, "calendar", "feed_info.feed_end_date is at least 7 days away", Level.DATASET)
EXPIRES_30 = rule("feed_expiration_date30_days", WARNING, "calendar", "feed_info.feed_end_date is at least 30 days away", Level.DATASET)
FEED_DATES = rule("missing_feed_info_date", WARNING, "calendar", "feed_info gives both feed_start_date and feed_end_date or neither", Level.ITEM)

# A parent's required location_type, per child location_type (MobilityData's ParentStationValidator).
PARENT_KIND = {"0": "1", "2": "1", "3": "1", "4": "0"}


def _column(frame: pd.DataFrame | None, name: str, default: str = "") -> pd.Series:
    if frame is None:
        return pd.Series([], dtype=object)
    return frame[name].fillna(default).astype(str) if name in frame.columns else pd.Series(default, index=frame.index)


def _date(text: str) -> date | None:
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8])) if len(text) == 8 and text.isdigit() else None
    except ValueError:
        return None


def _seconds(text: str) -> int | None:
    parts = text.split(":")
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        return None
    return int(parts[0]) * 3600 + int(parts[1]) * 60 + int(parts[2])


def _group_stops(feed: GtfsFrames, groups: Collection[str]) -> set[str]:
    """The stops of location_group_stops.txt in the location groups `groups`."""
    members = feed.frame("location_group_stops.txt")
    if members is None or not len(groups) or not {"location_group_id", "stop_id"} <= set(members.columns):
        return set()
    return set(_column(members, "stop_id")[_column(members, "location_group_id").isin(set(groups))])


def stop_rules(feed: GtfsFrames, findings: Findings, served: set[str], served_groups: Collection[str] = ()) -> None:
    stops = feed.frame("stops.txt")
    if stops is None or "stop_id" not in stops.columns or not len(stops):
        return
    ids = _column(stops, "stop_id")
    kind = _column(stops, "location_type", "0").replace("", "0")
    parent = _column(stops, "parent_station")
    lat = pd.to_numeric(stops.get("stop_lat"), errors="coerce").to_numpy(float) if "stop_lat" in stops else np.full(len(stops), np.nan)
    lon = pd.to_numeric(stops.get("stop_lon"), errors="coerce").to_numpy(float) if "stop_lon" in stops else np.full(len(stops), np.nan)

    def example(i: int, **extra: Any) -> dict[str, Any]:
        return {"item": ids.iat[i], "location_type": kind.iat[i], **extra}

    located = kind.isin(["0", "1", "2"]).to_numpy()
    findings.add(STATION_PARENT, (kind == "1").to_numpy() & (parent != "").to_numpy(), lambda i: example(i, parent_station=parent.iat[i]))
    findings.add(NO_LOCATION, located & (np.isnan(lat) | np.isnan(lon)), example)
    findings.add(NO_NAME, located & (_column(stops, "stop_name") == "").to_numpy(), example)
    findings.add(NO_PARENT, kind.isin(["2", "3", "4"]).to_numpy() & (parent == "").to_numpy(), example)
    kind_of = dict(zip(ids, kind, strict=True))
    wanted = kind.map(PARENT_KIND).fillna("")
    has_parent = ((parent != "") & parent.isin(kind_of)).to_numpy()
    parent_kind = parent.map(kind_of).fillna("")
    findings.add(WRONG_PARENT, has_parent & (wanted != "").to_numpy() & (parent_kind != wanted).to_numpy(),
                 lambda i: example(i, parent_station=parent.iat[i], parent_location_type=parent_kind.iat[i]))
    if "platform_code" in stops.columns:
        platforms = ((_column(stops, "platform_code") != "") & (kind == "0")).to_numpy()
        findings.add(PLATFORM_NO_PARENT, platforms & (parent == "").to_numpy(), example)
    place_rules(findings, lat, lon, lambda i: example(i, stop_lat=lat[i], stop_lon=lon[i]))
    if feed.has("stop_times.txt"):
        plain = (kind == "0").to_numpy()
        findings.add(NO_STOP_TIME, plain & ~ids.isin(served | _group_stops(feed, served_groups)).to_numpy(), example)
        stations = (kind == "1").to_numpy()
        findings.add(UNUSED_STATION, stations & ~ids.isin(set(parent)).to_numpy(), example)
    # References from stops.
    if "parent_station" in stops.columns:
        findings.add(schema.FOREIGN_KEY, ((parent != "") & ~parent.isin(kind_of)).to_numpy(),
                     lambda i: {"item": ids.iat[i], "file": "stops.txt", "column": "parent_station", "value": parent.iat[i], "target": "stops.stop_id"})


def route_rules(feed: GtfsFrames, findings: Findings) -> None:
    routes, agencies = feed.frame("routes.txt"), feed.frame("agency.txt")
    if routes is not None and len(routes) and "route_id" in routes.columns:
        ids = _column(routes, "route_id")
        short_name, long_name, desc = (_column(routes, c) for c in ("route_short_name", "route_long_name", "route_desc"))

        def example(i: int, **extra: Any) -> dict[str, Any]:
            return {"item": ids.iat[i], **extra}

        findings.add(ROUTE_NAMES, ((short_name == "") & (long_name == "")).to_numpy(), example)
        findings.add(SHORT_NAME_LONG, (short_name.str.len() > 12).to_numpy(), lambda i: example(i, route_short_name=short_name.iat[i]))
        if "route_desc" in routes.columns:
            same = (desc != "") & ((desc.str.lower() == short_name.str.lower()) | (desc.str.lower() == long_name.str.lower()))
            findings.add(SAME_ROUTE_NAME_DESC, same.to_numpy(), lambda i: example(i, route_desc=desc.iat[i]))
        agency_ids = set(_column(agencies, "agency_id")) if agencies is not None else set()
        agency_id = _column(routes, "agency_id")
        several = agencies is not None and len(agencies) > 1
        findings.add(AGENCY_ID, (agency_id == "").to_numpy() & several, example)
        if agencies is not None and "agency_id" in routes.columns:
            findings.add(schema.FOREIGN_KEY, ((agency_id != "") & ~agency_id.isin(agency_ids)).to_numpy(),
                         lambda i: example(i, file="routes.txt", column="agency_id", value=agency_id.iat[i], target="agency.agency_id"))
    if agencies is not None and len(agencies) and "agency_timezone" in agencies.columns:
        zones = _column(agencies, "agency_timezone")
        first = zones.iat[0]
        findings.add(AGENCY_TIMEZONE, (zones != first).to_numpy(), lambda i: {"item": f"agency:{i + 2}", "agency_timezone": zones.iat[i], "expected": first})


def trip_references(feed: GtfsFrames, findings: Findings, shape_ids: set[str]) -> None:
    trips = feed.frame("trips.txt")
    if trips is None or not len(trips):
        return
    ids = _column(trips, "trip_id")
    targets = [("route_id", set(_column(feed.frame("routes.txt"), "route_id")) if feed.has("routes.txt") else None, "routes.route_id"),
               ("service_id", set(_column(feed.frame("calendar.txt"), "service_id")) | set(_column(feed.frame("calendar_dates.txt"), "service_id"))
                if feed.has("calendar.txt") or feed.has("calendar_dates.txt") else None, "calendar/calendar_dates service_id"),
               ("shape_id", shape_ids if "shapes.txt" in feed.streamed else None, "shapes.shape_id")]
    for column, keys, target in targets:
        if keys is None or column not in trips.columns:
            continue
        values = _column(trips, column)
        findings.add(schema.FOREIGN_KEY, ((values != "") & ~values.isin(keys)).to_numpy(),
                     lambda i, c=column, v=values, t=target: {"item": ids.iat[i], "file": "trips.txt", "column": c, "value": v.iat[i], "target": t})
    frequencies = feed.frame("frequencies.txt")
    if frequencies is not None and "trip_id" in frequencies.columns:
        values = _column(frequencies, "trip_id")
        findings.add(schema.FOREIGN_KEY, ((values != "") & ~values.isin(set(ids))).to_numpy(),
                     lambda i: {"item": f"frequencies:{i + 2}", "file": "frequencies.txt", "column": "trip_id", "value": values.iat[i], "target": "trips.trip_id"})


def calendar_rules(feed: GtfsFrames, findings: Findings, today: date) -> None:
    calendar = feed.frame("calendar.txt")
    if calendar is not None and len(calendar) and {"start_date", "end_date"} <= set(calendar.columns):
        ids = _column(calendar, "service_id")
        start = [_date(value) for value in _column(calendar, "start_date")]
        end = [_date(value) for value in _column(calendar, "end_date")]
        findings.add(RANGE_ORDER, np.asarray([s is not None and e is not None and s > e for s, e in zip(start, end, strict=True)]),
                     lambda i: {"item": ids.iat[i], "file": "calendar.txt", "start_date": str(start[i]), "end_date": str(end[i])})
        days = [day for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday") if day in calendar.columns]
        if days:
            active = np.zeros(len(calendar), bool)
            for day in days:
                active |= (_column(calendar, day) == "1").to_numpy()
            findings.add(NO_ACTIVE_DAY, ~active, lambda i: {"item": ids.iat[i]})
        ends = [e for e in end if e is not None]
        if ends:
            findings.add(EXPIRED, np.asarray([max(ends) < today]), lambda _i: {"item": "calendar.txt", "last_end_date": str(max(ends)), "today": str(today)})
    info = feed.frame("feed_info.txt")
    if info is not None and len(info):
        start = [_date(value) for value in _column(info, "feed_start_date")]
        end = [_date(value) for value in _column(info, "feed_end_date")]
        findings.add(RANGE_ORDER, np.asarray([s is not None and e is not None and s > e for s, e in zip(start, end, strict=True)]),
                     lambda i: {"item": f"feed_info:{i + 2}", "file": "feed_info.txt", "feed_start_date": str(start[i]), "feed_end_date": str(end[i])})
        findings.add(FEED_DATES, np.asarray([(s is None) != (e is None) for s, e in zip(start, end, strict=True)]), lambda i: {"item": f"feed_info:{i + 2}"})
        for code, days in ((EXPIRES_7, 7), (EXPIRES_30, 30)):
            soon = np.asarray([e is not None and e < today + timedelta(days=days) and (days == 7 or e >= today + timedelta(days=7)) for e in end])
            findings.add(code, soon, lambda i: {"item": f"feed_info:{i + 2}", "feed_end_date": str(end[i]), "today": str(today)})
    frequencies = feed.frame("frequencies.txt")
    if frequencies is not None and len(frequencies) and {"trip_id", "start_time", "end_time"} <= set(frequencies.columns):
        trip = _column(frequencies, "trip_id").to_numpy()
        start_s = np.asarray([_seconds(v) if _seconds(v) is not None else math.nan for v in _column(frequencies, "start_time")], float)
        end_s = np.asarray([_seconds(v) if _seconds(v) is not None else math.nan for v in _column(frequencies, "end_time")], float)

        def example(i: int) -> dict[str, Any]:
            return {"item": f"frequencies:{i + 2}", "trip_id": trip[i], "start_time": short(frequencies["start_time"].iat[i]),
                    "end_time": short(frequencies["end_time"].iat[i])}

        findings.add(RANGE_ORDER, start_s > end_s, example)
        findings.add(RANGE_EQUAL, start_s == end_s, example)
        # n log n: sorted by trip and start, an entry overlaps when it starts before the previous one ends.
        order = np.lexsort((start_s, trip))
        same = np.r_[False, trip[order][1:] == trip[order][:-1]]
        overlaps = np.zeros(len(trip), bool)
        overlaps[order] = same & (start_s[order] < np.r_[-np.inf, end_s[order][:-1]])
        findings.add(OVERLAPPING, overlaps, example)
