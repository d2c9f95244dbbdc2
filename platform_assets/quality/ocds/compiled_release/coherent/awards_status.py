"""coherent.awards_status: no contract implements an award that is pending, cancelled or unsuccessful."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.lib.quality.result import FAILED, NOT_APPLICABLE, PASSED
from platform_assets.quality.ocds.values import code, objects

INACTIVE = {"pending", "cancelled", "unsuccessful"}


def test(item: dict[str, Any]) -> ItemOutcome:
    inactive = {str(award.get("id")) for award in objects(item.get("awards")) if code(award.get("status")) in INACTIVE}
    if not inactive:
        return NOT_APPLICABLE, {"reason": "no pending, cancelled or unsuccessful award"}
    implementing = [str(contract.get("id")) for contract in objects(item.get("contracts")) if str(contract.get("awardID")) in inactive]
    if implementing:
        return FAILED, {"awards": sorted(inactive), "contracts": implementing}
    return PASSED, {"awards": sorted(inactive)}


check = coherence("coherent.awards_status", test, "inactive awards have no contracts")
