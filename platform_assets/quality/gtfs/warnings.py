"""Common MobilityData WARNING notices over the tables read whole; learnt from gtfs-validator's
DuplicateRouteName-, RouteColorContrast-, RouteName-, StopName-, AgencyConsistency-,
MatchingFeedAndAgencyLang-, FeedContact-, AttributionWithoutRole-, PathwayDanglingGenericNode-,
PathwayLoop- and UrlConsistencyValidator (main/src/main/java/org/mobilitydata/gtfsvalidator/validator/)."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from platform_assets.lib.deferred import np, pd
from platform_assets.lib.gtfs.reader import GtfsFrames
from platform_assets.lib.quality.result import Level
from platform_assets.quality.gtfs.booking import text_column
from platform_assets.quality.gtfs.notices import WARNING, Findings, rule

DUPLICATE_ROUTE_NAME = rule("duplicate_route_name", WARNING, "routes",
                            "no two routes share long name, short name, route_type and agency_id", Level.ITEM)
COLOR_CONTRAST = rule("route_color_contrast", WARNING, "routes",
                      "route_color and route_text_color differ in luma (Rec. 601) by at least 72", Level.ITEM)
LONG_HAS_SHORT = rule("route_long_name_contains_short_name", WARNING, "routes",
                      "route_long_name does not begin with route_short_name", Level.ITEM)
SAME_STOP_NAME_DESC = rule("same_name_and_description_for_stop", WARNING, "stops", "stop_desc differs from stop_name", Level.ITEM)
AGENCY_LANG = rule("inconsistent_agency_lang", WARNING, "routes", "every agency_lang given is the same", Level.DATASET)
FEED_AGENCY_LANG = rule("feed_info_lang_and_agency_lang_mismatch", WARNING, "routes",
                        "agency_lang is feed_info.feed_lang (unless that is mul)", Level.ITEM)
FEED_CONTACT = rule("missing_feed_contact_email_and_url", WARNING, "calendar",
                    "feed_info gives feed_contact_email or feed_contact_url", Level.ITEM)
ATTRIBUTION_ROLE = rule("attribution_without_role", WARNING, "routes",
                        "an attribution has a role (is_producer, is_operator or is_authority = 1)", Level.ITEM)
DANGLING_NODE = rule("pathway_dangling_generic_node", WARNING, "stops",
                     "a generic node (location_type 3) links to more than one other location", Level.ITEM)
PATHWAY_LOOP = rule("pathway_loop", WARNING, "stops", "a pathway's from_stop_id differs from its to_stop_id", Level.ITEM)
ROUTE_AGENCY_URL = rule("same_route_and_agency_url", WARNING, "routes", "route_url differs from every agency_url", Level.ITEM)
STOP_AGENCY_URL = rule("same_stop_and_agency_url", WARNING, "stops", "stop_url differs from every agency_url", Level.ITEM)
STOP_ROUTE_URL = rule("same_stop_and_route_url", WARNING, "stops", "stop_url differs from every route_url", Level.ITEM)

NODE = "3"
# The rest of a long name after the short name it begins with, when it only repeats it.
REPEATS_SHORT = re.compile(r"^\s?[\s\-()].*", re.DOTALL)


def _luma(colour: str) -> int | None:
    if not re.fullmatch(r"[0-9A-Fa-f]{6}", colour):
        return None
    red, green, blue = (int(colour[i : i + 2], 16) for i in (0, 2, 4))
    return int(0.30 * red + 0.59 * green + 0.11 * blue)


def warning_rules(feed: GtfsFrames, findings: Findings) -> None:
    _routes(feed, findings)
    _agencies(feed, findings)
    _stops(feed, findings)
    _pathways(feed, findings)
    attributions = feed.frame("attributions.txt")
    if attributions is not None and len(attributions) and {"is_producer", "is_operator", "is_authority"} & set(attributions.columns):
        role = np.zeros(len(attributions), bool)
        for column in ("is_producer", "is_operator", "is_authority"):
            role |= (text_column(attributions, column) == "1").to_numpy()
        ids = text_column(attributions, "attribution_id")
        findings.add(ATTRIBUTION_ROLE, ~role, lambda i: {"item": ids.iat[i] or f"attributions:{i + 2}", "file": "attributions.txt"})


def _routes(feed: GtfsFrames, findings: Findings) -> None:
    routes = feed.frame("routes.txt")
    if routes is None or not len(routes) or "route_id" not in routes.columns:
        return
    ids = text_column(routes, "route_id")
    short, long = text_column(routes, "route_short_name"), text_column(routes, "route_long_name")

    def example(i: int, **extra: Any) -> dict[str, Any]:
        return {"item": ids.iat[i], "file": "routes.txt", **extra}

    key = long + "\x00" + short + "\x00" + text_column(routes, "route_type") + "\x00" + text_column(routes, "agency_id")
    findings.add(DUPLICATE_ROUTE_NAME, key.duplicated(keep="first").to_numpy(),
                 lambda i: example(i, route_short_name=short.iat[i], route_long_name=long.iat[i]))
    if {"route_color", "route_text_color"} <= set(routes.columns):
        pairs = [(_luma(c), _luma(t)) for c, t in zip(text_column(routes, "route_color"), text_column(routes, "route_text_color"), strict=True)]
        checked = np.asarray([c is not None and t is not None for c, t in pairs], bool)
        low = np.asarray([c is not None and t is not None and abs(c - t) < 72 for c, t in pairs], bool)
        where = np.flatnonzero(checked)
        findings.add(COLOR_CONTRAST, low[where], lambda k: example(int(where[k])))
    both = np.flatnonzero(((short != "") & (long != "")).to_numpy())
    repeats = np.asarray([long.iat[i].lower().startswith(short.iat[i].lower())
                          and (len(long.iat[i]) == len(short.iat[i]) or bool(REPEATS_SHORT.match(long.iat[i][len(short.iat[i]):])))
                          for i in both], bool)
    findings.add(LONG_HAS_SHORT, repeats, lambda k: example(int(both[k]), route_short_name=short.iat[both[k]], route_long_name=long.iat[both[k]]))
    agencies = feed.frame("agency.txt")
    if agencies is not None and "route_url" in routes.columns:
        agency_urls = set(text_column(agencies, "agency_url").str.lower()) - {""}
        urls = text_column(routes, "route_url").str.lower()
        given = np.flatnonzero((urls != "").to_numpy())
        findings.add(ROUTE_AGENCY_URL, urls.iloc[given].isin(agency_urls).to_numpy(), lambda k: example(int(given[k]), route_url=urls.iat[given[k]]))


def _agencies(feed: GtfsFrames, findings: Findings) -> None:
    agencies, info = feed.frame("agency.txt"), feed.frame("feed_info.txt")
    languages = text_column(agencies, "agency_lang").str.lower() if agencies is not None else pd.Series([], dtype=object)
    given = languages[languages != ""]
    if len(given):
        findings.add(AGENCY_LANG, np.asarray([given.nunique() > 1]), lambda _i: {"item": "agency.txt", "agency_lang": sorted(set(given))})
    if info is None or not len(info):
        return
    contact = ((text_column(info, "feed_contact_email").str.strip() != "") | (text_column(info, "feed_contact_url").str.strip() != "")).to_numpy()
    findings.add(FEED_CONTACT, ~contact, lambda i: {"item": f"feed_info:{i + 2}", "file": "feed_info.txt"})
    feed_lang = text_column(info, "feed_lang").iat[0].lower()
    if feed_lang and feed_lang != "mul" and len(given):
        where = np.flatnonzero((languages != "").to_numpy())
        findings.add(FEED_AGENCY_LANG, (languages.iloc[where] != feed_lang).to_numpy(),
                     lambda k: {"item": f"agency:{where[k] + 2}", "agency_lang": languages.iat[where[k]], "feed_lang": feed_lang})


def _stops(feed: GtfsFrames, findings: Findings) -> None:
    stops = feed.frame("stops.txt")
    if stops is None or not len(stops) or "stop_id" not in stops.columns:
        return
    ids = text_column(stops, "stop_id")
    if "stop_desc" in stops.columns:
        name, desc = text_column(stops, "stop_name"), text_column(stops, "stop_desc")
        given = np.flatnonzero(((name != "") & (desc != "")).to_numpy())
        findings.add(SAME_STOP_NAME_DESC, (desc.iloc[given].str.lower() == name.iloc[given].str.lower()).to_numpy(),
                     lambda k: {"item": ids.iat[given[k]], "file": "stops.txt", "stop_desc": desc.iat[given[k]]})
    if "stop_url" not in stops.columns:
        return
    urls = text_column(stops, "stop_url").str.lower()
    given = np.flatnonzero((urls != "").to_numpy())
    agencies, routes = feed.frame("agency.txt"), feed.frame("routes.txt")
    for code, other, column in ((STOP_AGENCY_URL, agencies, "agency_url"), (STOP_ROUTE_URL, routes, "route_url")):
        if other is None or column not in other.columns:
            continue
        known = set(text_column(other, column).str.lower()) - {""}
        findings.add(code, urls.iloc[given].isin(known).to_numpy(),
                     lambda k, c=column: {"item": ids.iat[given[k]], "file": "stops.txt", "stop_url": urls.iat[given[k]], "same_as": c})


def _pathways(feed: GtfsFrames, findings: Findings) -> None:
    pathways, stops = feed.frame("pathways.txt"), feed.frame("stops.txt")
    if pathways is None or not len(pathways):
        return
    ids, source, target = (text_column(pathways, c) for c in ("pathway_id", "from_stop_id", "to_stop_id"))
    findings.add(PATHWAY_LOOP, ((source != "") & (source == target)).to_numpy(),
                 lambda i: {"item": ids.iat[i], "file": "pathways.txt", "stop_id": source.iat[i]})
    if stops is None:
        return
    neighbours: dict[str, set[str]] = defaultdict(set)
    for a, b in zip(source, target, strict=True):
        neighbours[a].add(b)
        neighbours[b].add(a)
    nodes = list(text_column(stops, "stop_id")[(text_column(stops, "location_type") == NODE).to_numpy()])
    findings.add(DANGLING_NODE, np.asarray([len(neighbours.get(node, ())) == 1 for node in nodes], bool),
                 lambda k: {"item": nodes[k], "file": "stops.txt"})
