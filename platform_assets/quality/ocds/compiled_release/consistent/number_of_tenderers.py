"""consistent.number_of_tenderers: tender.numberOfTenderers equals the length of tender.tenderers
(pelican-backend `contracting_process/resource_level/consistent/number_of_tenderers.py`)."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.lib.quality.result import FAILED, NOT_APPLICABLE, PASSED
from platform_assets.quality.ocds.values import as_float, dig


def test(item: dict[str, Any]) -> ItemOutcome:
    declared = as_float(dig(item, "tender.numberOfTenderers"))
    if declared is None:
        return NOT_APPLICABLE, {"reason": "numberOfTenderers is non-numeric"}
    tenderers = dig(item, "tender.tenderers")
    if not isinstance(tenderers, list):
        return NOT_APPLICABLE, {"reason": "tenderers is not an array"}
    detail = {"numberOfTenderers": dig(item, "tender.numberOfTenderers"), "tenderers": len(tenderers)}
    return (PASSED if declared == len(tenderers) else FAILED), detail


check = coherence("consistent.number_of_tenderers", test, "numberOfTenderers matches the tenderers listed")
