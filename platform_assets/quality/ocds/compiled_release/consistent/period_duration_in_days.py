"""consistent.period_duration_in_days: durationInDays is the number of days between startDate and
endDate (or maxExtentDate when there is no end), rounded either way
(pelican-backend `contracting_process/resource_level/consistent/period_duration_in_days.py`)."""

from __future__ import annotations

import math
from typing import Any

from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.quality.ocds.values import as_float, counted_outcome, date_of, located

PERIODS = (
    "tender.tenderPeriod", "tender.enquiryPeriod", "tender.awardPeriod", "tender.contractPeriod",
    "awards.contractPeriod", "contracts.period",
)


def test(item: dict[str, Any]) -> ItemOutcome:
    applied, failed = 0, []
    for path in PERIODS:
        for where, period in located(item, path):
            if not isinstance(period, dict):
                continue
            start = date_of(period.get("startDate"))
            end = date_of(period.get("endDate")) or date_of(period.get("maxExtentDate"))
            duration = as_float(period.get("durationInDays"))
            if start is None or end is None or duration is None:
                continue
            days = (end - start).total_seconds() / 86400
            applied += 1
            if not math.floor(days) <= duration <= math.ceil(days):
                failed.append({"path": where, "durationInDays": period.get("durationInDays"), "days": round(days, 3)})
    return counted_outcome(applied, applied - len(failed), failed, "no period has a valid start date and valid end date")


check = coherence("consistent.period_duration_in_days", test, "durationInDays matches the period's dates")
