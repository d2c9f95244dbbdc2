"""coherent.tender_status: a tender that never completed (planning, planned, active, cancelled,
unsuccessful, withdrawn) has no awards and no contracts
(pelican-backend `contracting_process/resource_level/coherent/tender_status.py`)."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.lib.quality.result import FAILED, NOT_APPLICABLE, PASSED
from platform_assets.quality.ocds.values import code, dig

UNFINISHED = {"planning", "planned", "active", "cancelled", "unsuccessful", "withdrawn"}


def _count(value: Any) -> int:
    return len(value) if isinstance(value, list) else 0


def test(item: dict[str, Any]) -> ItemOutcome:
    status = code(dig(item, "tender.status"))
    if not status:
        return NOT_APPLICABLE, {"reason": "tender.status is blank"}
    if status not in UNFINISHED:
        return NOT_APPLICABLE, {"reason": f"tender.status is {status!r}"}
    awards, contracts = _count(item.get("awards")), _count(item.get("contracts"))
    if awards or contracts:
        return FAILED, {"tender.status": status, "awards_count": awards, "contracts_count": contracts}
    return PASSED, {"tender.status": status}


check = coherence("coherent.tender_status", test, "an unfinished tender has no awards or contracts")
