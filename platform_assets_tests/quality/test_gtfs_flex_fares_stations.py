"""The GTFS rules on optional files (GTFS-Flex stop times and booking rules, locations.geojson,
Fares v2, timeframes, networks, pathways, stop_access, transfers, translations), the zip's
layout and the common warnings on the small tables, each named by its MobilityData notice: one tiny good feed built here that no rule flags,
and for each rule a copy broken by one text edit with the number of notices counted by hand."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

import pytest

from platform_assets.lib.gtfs.reader import read_gtfs_frames
from platform_assets.lib.quality.result import CheckResult
from platform_assets.quality.gtfs import (
    blocks,
    booking,
    fares,
    locations,
    shapes,
    stations,
    stop_times,
    warnings,
)
from platform_assets.quality.gtfs.notices import RULES, Findings, mobilitydata_notices
from platform_assets.quality.gtfs.registry import check_feed

GEOJSON = ('{"type": "FeatureCollection", "features": [{"id": "Z1", "type": "Feature", "properties": {}, '
           '"geometry": {"type": "Polygon", "coordinates": [[[-73.0, 40.0], [-73.0, 40.1], [-72.9, 40.1], [-73.0, 40.0]]]}}]}')
GOOD: dict[str, str] = {
    "agency.txt": "agency_id,agency_name,agency_url,agency_timezone,agency_lang\nA,Agency,http://a.example,America/New_York,en\n",
    "feed_info.txt": "feed_publisher_name,feed_publisher_url,feed_lang,feed_contact_email\nP,http://p.example,en,c@p.example\n",
    "attributions.txt": "attribution_id,organization_name,is_producer,is_operator,is_authority\nAT1,Org,1,,\n",
    "stops.txt": "stop_id,stop_name,stop_lat,stop_lon,location_type,parent_station,level_id,stop_access,stop_desc,stop_url\n"
                 "S1,Station,40.0,-73.0,1,,,,,\n"
                 "E1,Entrance,40.0,-73.0,2,S1,L1,,,\n"
                 "N1,Node,40.0,-73.0,3,S1,L2,,,\n"
                 "P1,Platform,40.0,-73.0,0,S1,L1,,,\n"
                 "P2,Street stop,40.1,-73.1,0,,,,Corner of X,http://s.example/p2\n"
                 "P3,Other stop,40.2,-73.2,0,,,,,\n",
    "routes.txt": "route_id,agency_id,route_short_name,route_long_name,route_type,network_id,continuous_pickup,route_color,route_text_color,route_url\n"
                  "R1,A,1,Main Street,3,NET,,000000,FFFFFF,http://a.example/r1\n"
                  "R2,A,2,Harbour,3,NET,0,FFFFFF,000000,\n",
    "trips.txt": "route_id,service_id,trip_id,shape_id,block_id\nR1,WK,T1,SH1,B1\nR2,WK,T2,,B1\nR1,WK,T3,,\n",
    "shapes.txt": "shape_id,shape_pt_lat,shape_pt_lon,shape_pt_sequence,shape_dist_traveled\nSH1,40.0,-73.0,1,0\nSH1,40.2,-73.2,2,15\n",
    "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
                    "WK,1,1,1,1,1,0,0,20240101,20251231\n",
    "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,location_group_id,stop_sequence,pickup_type,drop_off_type,"
                      "start_pickup_drop_off_window,end_pickup_drop_off_window,shape_dist_traveled\n"
                      "T1,08:00:00,08:00:00,P1,,1,,,,,0\n"
                      "T1,08:10:00,08:10:00,P2,,2,,,,,14\n"
                      "T2,09:00:00,09:00:00,P2,,1,,,,,\n"
                      "T2,09:10:00,09:10:00,P1,,2,,,,,\n"
                      "T3,,,,G1,1,2,2,10:00:00,12:00:00,\n"
                      "T3,,,,G1,2,2,2,10:00:00,12:00:00,\n",
    "location_groups.txt": "location_group_id,location_group_name\nG1,Group\n",
    "location_group_stops.txt": "location_group_id,stop_id\nG1,P3\n",  # P3 is served through T3's group
    "locations.geojson": GEOJSON,
    "booking_rules.txt": "booking_rule_id,booking_type,prior_notice_duration_min,prior_notice_duration_max,prior_notice_last_day,"
                         "prior_notice_last_time,prior_notice_start_day,prior_notice_start_time,prior_notice_service_id\n"
                         "B0,0,,,,,,,\n"
                         "B1,1,30,60,,,,,\n"
                         "B2,2,,,1,17:00:00,,,\n",
    "fare_products.txt": "fare_product_id,rider_category_id,amount,currency\nFP1,ADULT,2.50,EUR\nFP1,SENIOR,1.00,EUR\nFP2,,300,JPY\n",
    "rider_categories.txt": "rider_category_id,rider_category_name,is_default_fare_category\nADULT,Adult,1\nSENIOR,Senior,0\n",
    "fare_transfer_rules.txt": "from_leg_group_id,to_leg_group_id,transfer_count,duration_limit,duration_limit_type,fare_transfer_type\n"
                               "G1,G1,1,3600,1,0\n"
                               "G1,G2,,,,0\n",
    "timeframes.txt": "timeframe_group_id,start_time,end_time,service_id\n"
                      "PEAK,07:00:00,09:00:00,WK\n"
                      "PEAK,16:00:00,18:00:00,WK\n"
                      "ALL,,,WK\n",
    "pathways.txt": "pathway_id,from_stop_id,to_stop_id,pathway_mode,is_bidirectional\nW1,E1,N1,1,1\nW2,N1,P1,5,1\n",
    "levels.txt": "level_id,level_index\nL1,0\nL2,-1\n",
    "transfers.txt": "from_stop_id,to_stop_id,from_route_id,to_route_id,from_trip_id,to_trip_id,transfer_type\n"
                     "P1,P2,R1,R2,T1,T2,1\n"
                     "S1,P2,,,T1,,0\n",
    "translations.txt": "table_name,field_name,language,translation,record_id,record_sub_id,field_value\n"
                        "stops,stop_name,fr,Gare,S1,,\n"
                        "stop_times,stop_headsign,fr,Nord,T1,2,\n"
                        "routes,route_long_name,fr,Ligne,,,Line\n",
}
NEW_CODES = sorted(code for module in (booking, fares, locations, stations, warnings) for code in vars(module).values()
                   if isinstance(code, str) and code in RULES) + [
    stop_times.GEOGRAPHY_IDS, stop_times.FLEX_DISTANCE, stop_times.WINDOW_AND_TIMES, stop_times.HALF_WINDOW,
    stop_times.WINDOW_ORDER, stop_times.WINDOW_PICKUP, stop_times.WINDOW_DROP_OFF, stop_times.WINDOW_CONTINUOUS,
    shapes.TRIP_PAST_SHAPE, shapes.TRIP_PAST_SHAPE_NEAR, blocks.BLOCK_OVERLAP,
    stop_times.LONE_PHONE_RECORD]
NEW_CODES = sorted(set(NEW_CODES) - {"unknown_file", "unknown_column"})


def _feed(tmp_path: Path, files: dict[str, str], extra: dict[str, str] | None = None) -> Path:
    path = tmp_path / "feed.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in {**files, **(extra or {})}.items():
            archive.writestr(name, text)
    return path


def _edit(file: str, old: str, new: str) -> dict[str, str]:
    text = GOOD[file]
    assert text.count(old) == 1, (file, old)
    return {file: text.replace(old, new)}


def _findings(path: Path) -> dict[str, CheckResult]:
    """The rules of these modules on one feed, in check_feed's order (without the pandera schemas)."""
    feed = read_gtfs_frames(path)
    findings = Findings()
    geojson_ids = locations.zip_rules(path, findings)
    scan = stop_times.scan_stop_times(feed, findings, stations.transfer_trips(feed), stations.translation_trips(feed))
    found = stop_times.trip_rules(feed, scan, findings)
    farthest: dict[str, tuple[float, float, float]] = {}
    shapes.scan_shapes(feed, findings, farthest)
    shapes.trip_distance_rules(feed, findings, found["last_stops"], scan.trip_names, scan.stop_names, farthest)
    blocks.block_rules(feed, findings, found["trip_edges"], scan.trip_names)
    booking.booking_rules(feed, findings)
    fares.fare_rules(feed, findings)
    stations.station_rules(feed, findings, scan.trip_stops, geojson_ids)
    stations.translation_rules(feed, findings, scan.trip_sequences)
    warnings.warning_rules(feed, findings)
    return {result.name: result for result in findings.results()}


# (notice, id, edit of one file of GOOD, notices expected)
CASES: list[tuple[str, str, dict[str, str], int]] = [
    # booking_rules.txt
    ("forbidden_real_time_booking_field_value", "", _edit("booking_rules.txt", "B0,0,,", "B0,0,30,"), 1),
    ("forbidden_same_day_booking_field_value", "", _edit("booking_rules.txt", "B1,1,30,60,,", "B1,1,30,60,1,"), 1),
    ("forbidden_prior_day_booking_field_value", "", _edit("booking_rules.txt", "B2,2,,,1", "B2,2,30,,1"), 1),
    ("missing_prior_notice_duration_min", "", _edit("booking_rules.txt", "B1,1,30,60", "B1,1,,60"), 1),
    ("invalid_prior_notice_duration_min", "", _edit("booking_rules.txt", "B1,1,30,60", "B1,1,60,30"), 1),
    ("forbidden_prior_notice_start_day", "", _edit("booking_rules.txt", "B1,1,30,60,,,,,", "B1,1,30,60,,,3,08:00:00,"), 1),
    ("prior_notice_last_day_after_start_day", "", _edit("booking_rules.txt", "B2,2,,,1,17:00:00,,", "B2,2,,,5,17:00:00,3,08:00:00"), 1),
    ("missing_prior_notice_last_day", "", _edit("booking_rules.txt", "B2,2,,,1,", "B2,2,,,,"), 1),
    ("missing_prior_notice_last_time", "", _edit("booking_rules.txt", "B2,2,,,1,17:00:00", "B2,2,,,1,"), 1),
    ("forbidden_prior_notice_start_time", "", _edit("booking_rules.txt", "B2,2,,,1,17:00:00,,", "B2,2,,,1,17:00:00,,08:00:00"), 1),
    ("missing_prior_notice_start_time", "", _edit("booking_rules.txt", "B2,2,,,1,17:00:00,,", "B2,2,,,1,17:00:00,3,"), 1),
    # Fares v2 and currencies
    ("fare_product_with_multiple_default_rider_categories", "", _edit("rider_categories.txt", "Senior,0", "Senior,1"), 1),
    ("invalid_currency", "", _edit("fare_products.txt", "300,JPY", "300,YEN"), 1),
    ("invalid_currency_amount", "eur", _edit("fare_products.txt", "2.50,EUR", "2.5,EUR"), 1),
    ("invalid_currency_amount", "jpy", _edit("fare_products.txt", "300,JPY", "300.00,JPY"), 1),
    ("fare_transfer_rule_duration_limit_without_type", "", _edit("fare_transfer_rules.txt", "3600,1,0", "3600,,0"), 1),
    ("fare_transfer_rule_duration_limit_type_without_duration_limit", "", _edit("fare_transfer_rules.txt", "3600,1,0", ",1,0"), 1),
    ("fare_transfer_rule_invalid_transfer_count", "", _edit("fare_transfer_rules.txt", "G1,G1,1,", "G1,G1,0,"), 1),
    ("fare_transfer_rule_without_transfer_count", "", _edit("fare_transfer_rules.txt", "G1,G1,1,", "G1,G1,,"), 1),
    ("fare_transfer_rule_with_forbidden_transfer_count", "", _edit("fare_transfer_rules.txt", "G1,G2,,", "G1,G2,2,"), 1),
    ("timeframe_only_start_or_end_time_specified", "", _edit("timeframes.txt", "ALL,,,", "ALL,07:00:00,,"), 1),
    ("timeframe_start_or_end_time_greater_than_twenty_four_hours", "", _edit("timeframes.txt", "16:00:00,18:00:00", "16:00:00,25:00:00"), 1),
    ("timeframe_overlap", "", _edit("timeframes.txt", "16:00:00,18:00:00", "08:30:00,18:00:00"), 1),
    ("route_networks_specified_in_more_than_one_file", "", {"networks.txt": "network_id,network_name\nNET,Network\n"}, 1),
    # pathways, levels, stop_access
    ("bidirectional_exit_gate", "", _edit("pathways.txt", "W1,E1,N1,1,1", "W1,E1,N1,7,1"), 1),
    ("pathway_to_wrong_location_type", "", _edit("pathways.txt", "W1,E1,N1", "W1,E1,S1"), 1),
    ("pathway_to_platform_with_boarding_areas", "", _edit("stops.txt", "P2,", "B1,Boarding area,40.0,-73.0,4,P1,L1,,,\nP2,"), 1),
    # W1 one-way: nothing leads back to the entrance from N1 and P1.
    ("pathway_unreachable_location", "", _edit("pathways.txt", "W1,E1,N1,1,1", "W1,E1,N1,1,0"), 2),
    ("pathway_to_stop_with_access_outside_of_station_pathways", "", _edit("stops.txt", "0,S1,L1,", "0,S1,L1,1"), 1),
    ("missing_level_id", "", _edit("stops.txt", "3,S1,L2,", "3,S1,,"), 1),
    ("stop_access_specified_for_incorrect_location", "", _edit("stops.txt", "3,S1,L2,", "3,S1,L2,0"), 1),
    ("stop_access_specified_for_stop_with_no_parent_station", "", _edit("stops.txt", "Street stop,40.1,-73.1,0,,,", "Street stop,40.1,-73.1,0,,,1"), 1),
    # transfers and translations
    ("transfer_with_invalid_stop_location_type", "", _edit("transfers.txt", "S1,P2,,,T1", "E1,P2,,,T1"), 1),
    ("transfer_with_invalid_trip_and_route", "", _edit("transfers.txt", "P1,P2,R1,R2", "P1,P2,R2,R2"), 1),
    ("transfer_with_invalid_trip_and_stop", "", _edit("transfers.txt", "P1,P2,R1,R2", "P1,P3,R1,R2"), 1),
    ("translation_foreign_key_violation", "stops", _edit("translations.txt", "Gare,S1", "Gare,S9"), 1),
    ("translation_foreign_key_violation", "stop_times", _edit("translations.txt", "Nord,T1,2", "Nord,T1,9"), 1),
    ("translation_unexpected_value", "", _edit("translations.txt", "Ligne,,,Line", "Ligne,R1,,Line"), 1),
    ("duplicate_geography_id", "group", _edit("location_groups.txt", "G1,Group", "P2,Group"), 1),
    ("duplicate_geography_id", "geojson", {"locations.geojson": GEOJSON.replace('"Z1"', '"P3"')}, 1),
    # GTFS-Flex stop times
    ("forbidden_geography_id", "", _edit("stop_times.txt", "T3,,,,G1,1", "T3,,,P1,G1,1"), 1),
    ("forbidden_shape_dist_traveled", "", _edit("stop_times.txt", "G1,1,2,2,10:00:00,12:00:00,", "G1,1,2,2,10:00:00,12:00:00,5"), 1),
    ("forbidden_arrival_or_departure_time", "", _edit("stop_times.txt", "T3,,,,G1,1", "T3,10:00:00,10:00:00,,G1,1"), 1),
    ("missing_pickup_or_drop_off_window", "", _edit("stop_times.txt", "G1,1,2,2,10:00:00,12:00:00", "G1,1,2,2,10:00:00,"), 1),
    ("invalid_pickup_drop_off_window", "", _edit("stop_times.txt", "G1,1,2,2,10:00:00,12:00:00", "G1,1,2,2,10:00:00,09:00:00"), 1),
    ("forbidden_pickup_type", "", _edit("stop_times.txt", "G1,1,2,2", "G1,1,0,2"), 1),
    ("forbidden_drop_off_type", "", _edit("stop_times.txt", "G1,1,2,2", "G1,1,2,"), 1),  # empty: 0, regular
    ("forbidden_continuous_pickup_drop_off", "", _edit("routes.txt", "Main Street,3,NET,,", "Main Street,3,NET,2,"), 2),  # T3's two stop times
    ("missing_stop_times_record", "", _edit("stop_times.txt", "T3,,,,G1,2,2,2,10:00:00,12:00:00,\n", ""), 1),
    # the zip and locations.geojson
    ("invalid_input_files_in_subfolder", "", {"gtfs/stops.txt": GOOD["stops.txt"]}, 1),
    ("malformed_json", "", {"locations.geojson": GEOJSON[:-1]}, 1),
    ("geo_json_duplicated_element", "", {"locations.geojson": '{"type": "FeatureCollection", "type": "x", "features": []}'}, 1),
    ("unsupported_geo_json_type", "", {"locations.geojson": GEOJSON.replace('"FeatureCollection"', '"Feature"')}, 1),
    ("missing_required_element", "", {"locations.geojson": GEOJSON.replace('"properties": {}, ', "")}, 1),
    ("unsupported_feature_type", "", {"locations.geojson": GEOJSON.replace('"type": "Feature",', '"type": "Thing",')}, 1),
    ("unsupported_geometry_type", "", {"locations.geojson": GEOJSON.replace(
        '"type": "Polygon", "coordinates": [[[-73.0, 40.0], [-73.0, 40.1], [-72.9, 40.1], [-73.0, 40.0]]]',
        '"type": "Point", "coordinates": [-73.0, 40.0]')}, 1),
    # T1's last stop time (at P2) further along than its shape, whose end is ~14 km away (P3's place) or at P2
    ("trip_distance_exceeds_shape_distance", "", _edit("stop_times.txt", "P2,,2,,,,,14", "P2,,2,,,,,16"), 1),
    ("trip_distance_exceeds_shape_distance_below_threshold", "", {**_edit("stop_times.txt", "P2,,2,,,,,14", "P2,,2,,,,,16"),
                                                                  **_edit("shapes.txt", "SH1,40.2,-73.2", "SH1,40.1,-73.1")}, 1),
    # T2 (block B1, like T1) leaves at 08:05, before T1 arrives at 08:10, on the same weekdays
    ("block_trips_with_overlapping_stop_times", "", _edit("stop_times.txt", "T2,09:00:00,09:00:00", "T2,08:05:00,08:05:00"), 1),
    # common warnings
    ("duplicate_route_name", "", _edit("routes.txt", "R2,A,2,Harbour", "R2,A,1,Main Street"), 1),
    ("route_color_contrast", "", _edit("routes.txt", "000000,FFFFFF", "000000,111111"), 1),
    ("route_long_name_contains_short_name", "", _edit("routes.txt", "R2,A,2,Harbour", "R2,A,2,2 - Harbour"), 1),
    ("same_route_and_agency_url", "", _edit("routes.txt", "http://a.example/r1", "http://A.example"), 1),
    ("same_name_and_description_for_stop", "", _edit("stops.txt", "Corner of X", "street STOP"), 1),
    ("same_stop_and_agency_url", "", _edit("stops.txt", "http://s.example/p2", "http://a.example"), 1),
    ("same_stop_and_route_url", "", _edit("stops.txt", "http://s.example/p2", "http://a.example/r1"), 1),
    ("inconsistent_agency_lang", "", _edit("agency.txt", "York,en\n", "York,en\nB,Other,http://b.example,America/New_York,fr\n"), 1),
    ("feed_info_lang_and_agency_lang_mismatch", "", _edit("agency.txt", "York,en", "York,de"), 1),
    ("missing_feed_contact_email_and_url", "", _edit("feed_info.txt", "c@p.example", ""), 1),
    ("attribution_without_role", "", _edit("attributions.txt", "Org,1,,", "Org,0,,"), 1),
    ("pathway_dangling_generic_node", "", {**_edit("stops.txt", "P2,", "N2,Node 2,40.0,-73.0,3,S1,L2,,,\nP2,"),
                                           **_edit("pathways.txt", "W2,N1,P1,5,1\n", "W2,N1,P1,5,1\nW3,N1,N2,1,1\n")}, 1),
    ("pathway_loop", "", _edit("pathways.txt", "W2,N1,P1,5,1\n", "W2,N1,P1,5,1\nW3,P1,P1,1,1\n"), 1),
    ("translation_unknown_table_name", "", _edit("translations.txt", "Ligne,,,Line\n", "Ligne,,,Line\ncalendar_dates,date,fr,x,,,v\n"), 1),
    ("invalid_geometry", "bow_tie", {"locations.geojson": GEOJSON.replace(
        "[[-73.0, 40.0], [-73.0, 40.1], [-72.9, 40.1], [-73.0, 40.0]]", "[[-73.0, 40.0], [-72.0, 41.0], [-72.0, 40.0], [-73.0, 41.0], [-73.0, 40.0]]")}, 1),
    ("invalid_geometry", "open_ring", {"locations.geojson": GEOJSON.replace("[-72.9, 40.1], [-73.0, 40.0]]", "[-72.9, 40.1], [-72.9, 40.0]]")}, 1),
    ("duplicate_geo_json_key", "", {"locations.geojson": GEOJSON.replace("]}}]}", "]}}, " + GEOJSON[GEOJSON.index("{\"id\""):])}, 1),
]


@pytest.fixture(scope="module")
def good_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CheckResult]:
    """The good feed through check_feed itself: every rule of these modules runs and none fails."""
    return check_feed(_feed(tmp_path_factory.mktemp("good"), GOOD), today=date(2024, 6, 1)).by_name()


def test_the_good_feed_breaks_no_rule_and_every_rule_looked_at_it(good_results: dict[str, CheckResult]) -> None:
    assert {code for code, _id, _edit, _count in CASES} == set(NEW_CODES)
    # With the core rules GTFS-Flex changes: T3's window-only edges, P3 served only through G1.
    for code in [*NEW_CODES, stop_times.TRIP_EDGE, "stop_without_stop_time"]:
        result = good_results[code]
        assert result.failed == 0, (code, result.examples)
        assert result.passed > 0, code
        assert result.meta["severity"] == mobilitydata_notices()[code][0] == RULES[code].severity


@pytest.mark.parametrize(("code", "edit", "expected"), [(code, edit, count) for code, _id, edit, count in CASES],
                         ids=[f"{code}-{case_id}" if case_id else code for code, case_id, _edit, _count in CASES])
def test_each_rule_flags_its_one_edit_broken_copy(code: str, edit: dict[str, str], expected: int, tmp_path: Path) -> None:
    results = _findings(_feed(tmp_path, GOOD, edit))
    assert results[code].failed == expected, (code, results[code].examples)
    assert results[code].meta["severity"] == RULES[code].severity


WITHOUT_GROUP_STOPS = {name: text for name, text in GOOD.items() if name != "location_group_stops.txt"}
# (id, files, missing_trip_edge notices, stop_without_stop_time notices), as MobilityData's
# MissingTripEdgeValidator and LocationHasStopTimesValidator give them (ours count one per trip).
FLEX_EDGE_CASES: list[tuple[str, dict[str, str], int, int]] = [
    # T3: both stop times have a window and no arrival/departure time; P3 is in G1, which T3 uses.
    ("good", GOOD, 0, 0),
    # A window's start alone (its end left out) still exempts the edge.
    ("half_window", {**GOOD, **_edit("stop_times.txt", "G1,1,2,2,10:00:00,12:00:00", "G1,1,2,2,10:00:00,")}, 0, 0),
    # T3's first stop time without a window nor times: an edge with no time.
    ("no_window", {**GOOD, **_edit("stop_times.txt", "G1,1,2,2,10:00:00,12:00:00", "G1,1,2,2,,")}, 1, 0),
    # Both ends of T3 without: still one notice for the trip.
    ("no_windows", {**GOOD, "stop_times.txt": GOOD["stop_times.txt"].replace("2,2,10:00:00,12:00:00", "2,2,,")}, 1, 0),
    # P3 in no location group: no stop time serves it.
    ("no_group_stops", WITHOUT_GROUP_STOPS, 0, 1),
    # P3 named only by transfers.txt: a transfer is not a stop time.
    ("transfer_only", {**WITHOUT_GROUP_STOPS, **_edit("transfers.txt", "S1,P2,,,T1,,0\n", "S1,P2,,,T1,,0\nP3,P2,,,,,2\n")}, 0, 1),
    # P3 in a location group that no stop time names.
    ("unused_group", {**GOOD, **_edit("location_groups.txt", "G1,Group\n", "G1,Group\nG2,Other group\n"),
                      "location_group_stops.txt": "location_group_id,stop_id\nG2,P3\n"}, 0, 1),
]


@pytest.mark.parametrize(("files", "edges", "unserved"), [case[1:] for case in FLEX_EDGE_CASES], ids=[case[0] for case in FLEX_EDGE_CASES])
def test_flex_windows_stand_in_for_edge_times_and_group_stops_are_served(
        files: dict[str, str], edges: int, unserved: int, tmp_path: Path) -> None:
    results = check_feed(_feed(tmp_path, files), today=date(2024, 6, 1)).by_name()
    edge, stop = results[stop_times.TRIP_EDGE], results["stop_without_stop_time"]
    assert (edge.failed, edge.passed) == (edges, 3 - edges), edge.examples  # T1, T2, T3
    assert [example["item"] for example in edge.examples.get("failed", [])] == ["T3"] * edges
    assert (stop.failed, [example["item"] for example in stop.examples.get("failed", [])]) == (unserved, ["P3"] * unserved)
