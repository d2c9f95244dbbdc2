"""booking_rules.txt (GTFS-Flex): which fields each booking_type allows and requires; learnt from
MobilityData/gtfs-validator's BookingRulesEntityValidator (main/src/main/java/org/mobilitydata/
gtfsvalidator/validator/BookingRulesEntityValidator.java). One notice per rule row."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.deferred import np, pd
from platform_assets.lib.gtfs.reader import GtfsFrames
from platform_assets.lib.quality.result import Level
from platform_assets.quality.gtfs.notices import ERROR, Findings, rule

REAL_TIME, SAME_DAY, PRIOR_DAY = "0", "1", "2"  # booking_type
FORBIDDEN_REAL_TIME = rule("forbidden_real_time_booking_field_value", ERROR, "stop_times",
                           "a real-time booking rule (booking_type 0) has no prior_notice_* fields", Level.ITEM)
FORBIDDEN_SAME_DAY = rule("forbidden_same_day_booking_field_value", ERROR, "stop_times",
                          "a same-day booking rule (booking_type 1) has no prior_notice_last_day, _last_time or _service_id", Level.ITEM)
FORBIDDEN_PRIOR_DAY = rule("forbidden_prior_day_booking_field_value", ERROR, "stop_times",
                           "a prior-day booking rule (booking_type 2) has no prior_notice_duration_min or _max", Level.ITEM)
MISSING_DURATION_MIN = rule("missing_prior_notice_duration_min", ERROR, "stop_times",
                            "a same-day booking rule has prior_notice_duration_min", Level.ITEM)
INVALID_DURATION_MIN = rule("invalid_prior_notice_duration_min", ERROR, "stop_times",
                            "prior_notice_duration_max is not less than prior_notice_duration_min", Level.ITEM)
FORBIDDEN_START_DAY = rule("forbidden_prior_notice_start_day", ERROR, "stop_times",
                           "prior_notice_start_day is not given with prior_notice_duration_max", Level.ITEM)
LAST_AFTER_START = rule("prior_notice_last_day_after_start_day", ERROR, "stop_times",
                        "prior_notice_last_day is not after prior_notice_start_day", Level.ITEM)
MISSING_LAST_DAY = rule("missing_prior_notice_last_day", ERROR, "stop_times",
                        "a prior-day booking rule has prior_notice_last_day", Level.ITEM)
MISSING_LAST_TIME = rule("missing_prior_notice_last_time", ERROR, "stop_times",
                         "a prior-day booking rule has prior_notice_last_time", Level.ITEM)
FORBIDDEN_START_TIME = rule("forbidden_prior_notice_start_time", ERROR, "stop_times",
                            "prior_notice_start_time is only given with prior_notice_start_day", Level.ITEM)
MISSING_START_TIME = rule("missing_prior_notice_start_time", ERROR, "stop_times",
                          "prior_notice_start_day comes with prior_notice_start_time", Level.ITEM)

# booking_type -> the fields it forbids (the order of MobilityData's notices).
FORBIDDEN = {
    REAL_TIME: (FORBIDDEN_REAL_TIME, ("prior_notice_duration_min", "prior_notice_duration_max", "prior_notice_last_day",
                                      "prior_notice_last_time", "prior_notice_start_day", "prior_notice_start_time",
                                      "prior_notice_service_id")),
    SAME_DAY: (FORBIDDEN_SAME_DAY, ("prior_notice_last_day", "prior_notice_last_time", "prior_notice_service_id")),
    PRIOR_DAY: (FORBIDDEN_PRIOR_DAY, ("prior_notice_duration_min", "prior_notice_duration_max")),
}


def text_column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A column as stripped text ('' when absent or empty)."""
    return frame[name].fillna("").astype(str) if name in frame.columns else pd.Series("", index=frame.index, dtype=object)


def number_column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A column as floats (NaN when absent, empty or not a number)."""
    return pd.to_numeric(text_column(frame, name), errors="coerce").to_numpy(float)


def booking_rules(feed: GtfsFrames, findings: Findings) -> None:
    rules = feed.frame("booking_rules.txt")
    if rules is None or not len(rules):
        return
    ids = text_column(rules, "booking_rule_id")
    kind = text_column(rules, "booking_type").to_numpy()
    given = {name: (text_column(rules, name) != "").to_numpy() for kinds in FORBIDDEN.values() for name in kinds[1]}
    given["prior_notice_start_day"] = (text_column(rules, "prior_notice_start_day") != "").to_numpy()

    def example(i: int, **extra: Any) -> dict[str, Any]:
        return {"item": f"booking_rules:{i + 2}", "file": "booking_rules.txt", "booking_rule_id": ids.iat[i], **extra}

    for booking_type, (code, fields) in FORBIDDEN.items():
        forbidden = np.zeros(len(rules), bool)
        for name in fields:
            forbidden |= given[name]
        findings.add(code, (kind == booking_type) & forbidden,
                     lambda i, f=fields: example(i, field_names=", ".join(name for name in f if given[name][i])))
    minimum, maximum = number_column(rules, "prior_notice_duration_min"), number_column(rules, "prior_notice_duration_max")
    has_min, has_max = given["prior_notice_duration_min"], given["prior_notice_duration_max"]
    findings.add(MISSING_DURATION_MIN, (kind == SAME_DAY) & ~has_min, example)
    findings.add(INVALID_DURATION_MIN, has_min & has_max & (maximum < minimum),
                 lambda i: example(i, prior_notice_duration_min=minimum[i], prior_notice_duration_max=maximum[i]))
    has_start_day, has_start_time = given["prior_notice_start_day"], given["prior_notice_start_time"]
    findings.add(FORBIDDEN_START_DAY, has_max & has_start_day, example)
    last_day, start_day = number_column(rules, "prior_notice_last_day"), number_column(rules, "prior_notice_start_day")
    findings.add(LAST_AFTER_START, given["prior_notice_last_day"] & has_start_day & (last_day > start_day),
                 lambda i: example(i, prior_notice_last_day=last_day[i], prior_notice_start_day=start_day[i]))
    prior_day = kind == PRIOR_DAY
    findings.add(MISSING_LAST_DAY, prior_day & ~given["prior_notice_last_day"], example)
    findings.add(MISSING_LAST_TIME, prior_day & ~given["prior_notice_last_time"], example)
    findings.add(FORBIDDEN_START_TIME, has_start_time & ~has_start_day, example)
    findings.add(MISSING_START_TIME, ~has_start_time & has_start_day, example)
