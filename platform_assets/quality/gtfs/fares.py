"""Fares (v1 currencies, GTFS-Fares v2 products, rider categories, transfer rules, timeframes and
networks); learnt from MobilityData/gtfs-validator's FareProductDefaultRiderCategories-,
FareTransferRuleDurationLimitType-, FareTransferRuleTransferCount-, TimeframeStartAndEndTime-,
TimeframeOverlap- and NetworkIdConsistencyValidator (main/src/main/java/org/mobilitydata/
gtfsvalidator/validator/) and its currency notices (core/.../notice/InvalidCurrencyNotice.java,
InvalidCurrencyAmountNotice.java)."""

from __future__ import annotations

import re
from functools import lru_cache

from platform_assets.lib.deferred import np
from platform_assets.lib.gtfs.reader import GtfsFrames
from platform_assets.lib.quality.result import Level
from platform_assets.quality.gtfs.booking import number_column, text_column
from platform_assets.quality.gtfs.notices import ERROR, Findings, rule

MULTIPLE_DEFAULTS = rule("fare_product_with_multiple_default_rider_categories", ERROR, "routes",
                         "a fare product has at most one default rider category (is_default_fare_category=1)", Level.ITEM)
LIMIT_WITHOUT_TYPE = rule("fare_transfer_rule_duration_limit_without_type", ERROR, "routes",
                          "a fare transfer rule's duration_limit comes with a duration_limit_type", Level.ITEM)
TYPE_WITHOUT_LIMIT = rule("fare_transfer_rule_duration_limit_type_without_duration_limit", ERROR, "routes",
                          "a fare transfer rule's duration_limit_type comes with a duration_limit", Level.ITEM)
INVALID_TRANSFER_COUNT = rule("fare_transfer_rule_invalid_transfer_count", ERROR, "routes",
                              "transfer_count is -1 or at least 1", Level.ITEM)
WITHOUT_TRANSFER_COUNT = rule("fare_transfer_rule_without_transfer_count", ERROR, "routes",
                              "a transfer rule within one leg group (from = to_leg_group_id) has a transfer_count", Level.ITEM)
FORBIDDEN_TRANSFER_COUNT = rule("fare_transfer_rule_with_forbidden_transfer_count", ERROR, "routes",
                                "only a transfer rule within one leg group has a transfer_count", Level.ITEM)
INVALID_CURRENCY = rule("invalid_currency", ERROR, "fields", "currency codes are ISO 4217 codes")
INVALID_AMOUNT = rule("invalid_currency_amount", ERROR, "fields",
                      "fare_products.amount has as many decimal places as its currency (2 for EUR, 0 for JPY)")
TIMEFRAME_HALF = rule("timeframe_only_start_or_end_time_specified", ERROR, "calendar",
                      "a timeframe gives both start_time and end_time or neither", Level.ITEM)
TIMEFRAME_PAST_24 = rule("timeframe_start_or_end_time_greater_than_twenty_four_hours", ERROR, "calendar",
                         "a timeframe's start_time and end_time are at most 24:00:00", Level.ITEM)
TIMEFRAME_OVERLAP = rule("timeframe_overlap", ERROR, "calendar",
                         "timeframes of one timeframe_group_id and service_id do not overlap", Level.ITEM)
NETWORKS_TWICE = rule("route_networks_specified_in_more_than_one_file", ERROR, "routes",
                      "routes.network_id is not used together with route_networks.txt or networks.txt", Level.DATASET)

# ISO 4217 minor units that are not 2 (Java's Currency.getDefaultFractionDigits, which MobilityData uses).
FRACTION_DIGITS = {
    **dict.fromkeys(("BIF", "BYR", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
                     "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}
DECIMAL = re.compile(r"^[-+]?\d*(\.(\d*))?$")
TIME = re.compile(r"^(\d{1,3}):([0-5]\d):([0-5]\d)$")


@lru_cache(maxsize=1)
def currency_codes() -> frozenset[str]:
    import pycountry

    return frozenset(currency.alpha_3 for currency in pycountry.currencies)


def _seconds(text: str) -> float:
    match = TIME.match(text)
    return float(int(match[1]) * 3600 + int(match[2]) * 60 + int(match[3])) if match else np.nan


def fare_rules(feed: GtfsFrames, findings: Findings) -> None:
    _currencies(feed, findings)
    _default_rider_categories(feed, findings)
    _transfer_rules(feed, findings)
    _timeframes(feed, findings)
    routes = feed.frame("routes.txt")
    if routes is not None and "network_id" in routes.columns:
        for other in ("route_networks.txt", "networks.txt"):
            findings.add(NETWORKS_TWICE, np.asarray([feed.has(other)]),
                         lambda _i, o=other: {"item": "routes.txt", "file": o, "field": "network_id"})


def _currencies(feed: GtfsFrames, findings: Findings) -> None:
    known = currency_codes()
    for file, column in (("fare_attributes.txt", "currency_type"), ("fare_products.txt", "currency")):
        frame = feed.frame(file)
        if frame is None or column not in frame.columns:
            continue
        codes = text_column(frame, column)
        findings.add(INVALID_CURRENCY, ((codes != "") & ~codes.isin(known)).to_numpy(),
                     lambda i, f=file, c=column, v=codes: {"item": f"{f.removesuffix('.txt')}:{i + 2}", "file": f, "column": c, "value": v.iat[i]})
    products = feed.frame("fare_products.txt")
    if products is None or not {"amount", "currency"} <= set(products.columns):
        return
    amounts, codes = text_column(products, "amount"), text_column(products, "currency")
    bad = np.zeros(len(products), bool)
    for i, (amount, code) in enumerate(zip(amounts, codes, strict=True)):
        match = DECIMAL.match(amount)
        if match and amount and code in known:  # malformed numbers and unknown currencies are other notices
            bad[i] = len(match[2] or "") != FRACTION_DIGITS.get(code, 2)
    findings.add(INVALID_AMOUNT, bad, lambda i: {"item": f"fare_products:{i + 2}", "file": "fare_products.txt", "column": "amount",
                                                 "value": amounts.iat[i], "currency": codes.iat[i]})


def _default_rider_categories(feed: GtfsFrames, findings: Findings) -> None:
    products, categories = feed.frame("fare_products.txt"), feed.frame("rider_categories.txt")
    if products is None or categories is None or "fare_product_id" not in products.columns:
        return
    default = set(text_column(categories, "rider_category_id")[(text_column(categories, "is_default_fare_category") == "1").to_numpy()])
    product, category = text_column(products, "fare_product_id"), text_column(products, "rider_category_id")
    defaults = category[category.isin(default)].groupby(product[category.isin(default)]).nunique()
    names = sorted(set(product))
    findings.add(MULTIPLE_DEFAULTS, np.asarray([defaults.get(name, 0) > 1 for name in names], bool),
                 lambda i: {"item": names[i], "file": "fare_products.txt",
                            "rider_category_ids": sorted(set(category[(product == names[i]).to_numpy()]) & default)})


def _transfer_rules(feed: GtfsFrames, findings: Findings) -> None:
    rules = feed.frame("fare_transfer_rules.txt")
    if rules is None or not len(rules):
        return

    def example(i: int) -> dict[str, object]:
        return {"item": f"fare_transfer_rules:{i + 2}", "file": "fare_transfer_rules.txt"}

    has_limit = (text_column(rules, "duration_limit") != "").to_numpy()
    has_type = (text_column(rules, "duration_limit_type") != "").to_numpy()
    findings.add(LIMIT_WITHOUT_TYPE, has_limit & ~has_type, example)
    findings.add(TYPE_WITHOUT_LIMIT, ~has_limit & has_type, example)
    source, target = text_column(rules, "from_leg_group_id"), text_column(rules, "to_leg_group_id")
    within = ((source != "") & (target != "") & (source == target)).to_numpy()
    has_count = (text_column(rules, "transfer_count") != "").to_numpy()
    count = number_column(rules, "transfer_count")
    findings.add(INVALID_TRANSFER_COUNT, within & has_count & ((count < -1) | (count == 0)), example)
    findings.add(WITHOUT_TRANSFER_COUNT, within & ~has_count, example)
    findings.add(FORBIDDEN_TRANSFER_COUNT, ~within & has_count, example)


def _timeframes(feed: GtfsFrames, findings: Findings) -> None:
    frames = feed.frame("timeframes.txt")
    if frames is None or not len(frames):
        return
    start_text, end_text = text_column(frames, "start_time"), text_column(frames, "end_time")
    has_start, has_end = (start_text != "").to_numpy(), (end_text != "").to_numpy()
    start = np.asarray([_seconds(value) for value in start_text], float)
    end = np.asarray([_seconds(value) for value in end_text], float)

    def example(i: int) -> dict[str, object]:
        return {"item": f"timeframes:{i + 2}", "file": "timeframes.txt", "start_time": start_text.iat[i], "end_time": end_text.iat[i]}

    findings.add(TIMEFRAME_HALF, has_start != has_end, example)
    day = 24 * 3600
    findings.add(TIMEFRAME_PAST_24, np.r_[start > day, end > day], lambda i: example(i % len(frames)))
    # Sorted by start then end per group and service, a timeframe overlaps when it starts before
    # the previous one ends (absent times count as 00:00:00, as in MobilityData's entities).
    start = np.where(has_start, start, 0.0)
    end = np.where(has_end, end, 0.0)
    group = (text_column(frames, "timeframe_group_id") + "\x00" + text_column(frames, "service_id")).to_numpy()
    order = np.lexsort((end, start, group))
    same = np.r_[False, group[order][1:] == group[order][:-1]]
    overlap = np.zeros(len(frames), bool)
    overlap[order] = same & (start[order] < np.r_[-np.inf, end[order][:-1]])
    findings.add(TIMEFRAME_OVERLAP, overlap, example)
