"""consistent.number_of_tenderers: tender.numberOfTenderers equals the number of tender.tenderers."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.lib.quality.result import FAILED, NOT_APPLICABLE, PASSED
from platform_assets.quality.ocds.values import dig, number, objects


def test(item: dict[str, Any]) -> ItemOutcome:
    declared = number(dig(item, "tender.numberOfTenderers"))
    tenderers = dig(item, "tender.tenderers")
    if declared is None or not isinstance(tenderers, list):
        return NOT_APPLICABLE, {"reason": "numberOfTenderers or tenderers missing"}
    listed = len(objects(tenderers))
    if declared != listed:
        return FAILED, {"numberOfTenderers": declared, "tenderers": listed}
    return PASSED, {"tenderers": listed}


check = coherence("consistent.number_of_tenderers", test, "numberOfTenderers matches the tenderers listed")
