"""coherent.contracts_status: a contract that is pending or cancelled has no transactions."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.lib.quality.result import FAILED, NOT_APPLICABLE, PASSED
from platform_assets.quality.ocds.values import code, obj, objects

INACTIVE = {"pending", "cancelled"}


def test(item: dict[str, Any]) -> ItemOutcome:
    inactive = [contract for contract in objects(item.get("contracts")) if code(contract.get("status")) in INACTIVE]
    if not inactive:
        return NOT_APPLICABLE, {"reason": "no pending or cancelled contract"}
    paid = [str(c.get("id")) for c in inactive if objects(obj(c.get("implementation")).get("transactions"))]
    if paid:
        return FAILED, {"contracts": paid}
    return PASSED, {"contracts": [str(c.get("id")) for c in inactive]}


check = coherence("coherent.contracts_status", test, "pending or cancelled contracts have no transactions")
