"""coherent.period: every period starts on or before the day it ends
(pelican-backend `contracting_process/resource_level/coherent/period.py`)."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.quality.ocds.values import dates_outcome, pairs_between

PERIODS = (
    ("tender.tenderPeriod", False), ("tender.enquiryPeriod", False), ("tender.awardPeriod", False),
    ("tender.contractPeriod", False), ("awards.contractPeriod", True), ("contracts.period", True),
)
RULES = tuple((f"{period}.startDate", f"{period}.endDate", same) for period, same in PERIODS)


def test(item: dict[str, Any]) -> ItemOutcome:
    return dates_outcome(pairs_between(item, RULES))


check = coherence("coherent.period", test, "every period starts on or before it ends")
