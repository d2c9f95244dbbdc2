"""coherent.period: every period's startDate is on or before its endDate."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.lib.quality.result import FAILED, NOT_APPLICABLE, PASSED
from platform_assets.quality.ocds.values import date_of, dig, obj, objects


def periods(item: dict[str, Any]) -> list[tuple[str, Any]]:
    found = [(f"tender.{name}", dig(item, f"tender.{name}")) for name in ("tenderPeriod", "enquiryPeriod", "awardPeriod", "contractPeriod")]
    found += [(f"awards[{award.get('id')}].contractPeriod", award.get("contractPeriod")) for award in objects(item.get("awards"))]
    found += [(f"contracts[{contract.get('id')}].period", contract.get("period")) for contract in objects(item.get("contracts"))]
    return [(name, obj(period)) for name, period in found if isinstance(period, dict)]


def test(item: dict[str, Any]) -> ItemOutcome:
    compared = 0
    for name, period in periods(item):
        start, end = date_of(period.get("startDate")), date_of(period.get("endDate"))
        if start is None or end is None:
            continue
        compared += 1
        if start > end:
            return FAILED, {"period": name, "startDate": period.get("startDate"), "endDate": period.get("endDate")}
    if not compared:
        return NOT_APPLICABLE, {"reason": "no period with both dates"}
    return PASSED, {"periods": compared}


check = coherence("coherent.period", test, "every period starts on or before it ends")
