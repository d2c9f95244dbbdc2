"""coherent.amendments_dates: amendments come after what they amend and before the release date
(pelican-backend `contracting_process/resource_level/coherent/amendments_dates.py`)."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.quality.ocds.values import dates_outcome, pairs_between

RULES = (
    ("tender.tenderPeriod.startDate", "tender.amendments.date", False),
    ("awards.date", "awards.amendments.date", True),
    ("contracts.dateSigned", "contracts.amendments.date", True),
    ("tender.amendments.date", "date", False),
    ("awards.amendments.date", "date", False),
    ("contracts.amendments.date", "date", False),
)


def test(item: dict[str, Any]) -> ItemOutcome:
    return dates_outcome(pairs_between(item, RULES))


check = coherence("coherent.amendments_dates", test, "amendments after what they amend, before the release date")
