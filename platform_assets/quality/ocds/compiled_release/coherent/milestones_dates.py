"""coherent.milestones_dates: milestones are modified and met before the release date
(pelican-backend `contracting_process/resource_level/coherent/milestones_dates.py`)."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.quality.ocds.values import dates_outcome, located

FIRST = tuple(
    f"{section}.milestones.{field}"
    for section in ("planning", "tender", "contracts", "contracts.implementation")
    for field in ("dateModified", "dateMet")
)


def test(item: dict[str, Any]) -> ItemOutcome:
    releases = located(item, "date")
    return dates_outcome([(first, release) for path in FIRST for first in located(item, path) for release in releases])


check = coherence("coherent.milestones_dates", test, "milestones modified and met before the release date")
