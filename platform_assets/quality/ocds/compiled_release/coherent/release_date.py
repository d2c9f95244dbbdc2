"""coherent.release_date: no date of the process is after the release date
(pelican-backend `contracting_process/resource_level/coherent/release_date.py`)."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.quality.ocds.compiled_release.coherent.milestones_dates import FIRST as MILESTONE_DATES
from platform_assets.quality.ocds.values import dates_outcome, located

FIRST = (
    "tender.amendments.date", "awards.amendments.date", "contracts.amendments.date",
    "awards.date", "contracts.dateSigned", "contracts.implementation.transactions.date",
    *MILESTONE_DATES,
    *(
        f"{section}.documents.{field}"
        for section in ("planning", "tender", "awards", "contracts", "contracts.implementation")
        for field in ("datePublished", "dateModified")
    ),
)


def test(item: dict[str, Any]) -> ItemOutcome:
    releases = located(item, "date")
    return dates_outcome([(first, release) for path in FIRST for first in located(item, path) for release in releases])


check = coherence("coherent.release_date", test, "no amendment, award, signature, transaction, milestone or document date after the release date")
