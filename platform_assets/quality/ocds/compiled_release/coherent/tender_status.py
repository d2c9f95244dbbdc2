"""coherent.tender_status: a tender that never completed (planning, planned, active, cancelled,
unsuccessful, withdrawn) has no awards and no contracts."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.lib.quality.result import FAILED, NOT_APPLICABLE, PASSED
from platform_assets.quality.ocds.values import code, dig, objects

UNFINISHED = {"planning", "planned", "active", "cancelled", "unsuccessful", "withdrawn"}


def test(item: dict[str, Any]) -> ItemOutcome:
    status = code(dig(item, "tender.status"))
    if status not in UNFINISHED:
        return NOT_APPLICABLE, {"reason": f"tender.status {status!r} is not an unfinished status"}
    awards, contracts = len(objects(item.get("awards"))), len(objects(item.get("contracts")))
    if awards or contracts:
        return FAILED, {"tender.status": status, "awards": awards, "contracts": contracts}
    return PASSED, {"tender.status": status}


check = coherence("coherent.tender_status", test, "an unfinished tender has no awards or contracts")
