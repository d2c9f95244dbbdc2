"""coherent.contracts_status: a contract that is pending or cancelled has no transactions
(pelican-backend `contracting_process/resource_level/coherent/contracts_status.py`)."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.quality.ocds.values import code, counted_outcome, dig, located

UNSIGNED = {"pending", "cancelled"}


def test(item: dict[str, Any]) -> ItemOutcome:
    unsigned = [(where, c) for where, c in located(item, "contracts") if isinstance(c, dict) and code(c.get("status")) in UNSIGNED]
    failed = []
    for where, contract in unsigned:
        transactions = dig(contract, "implementation.transactions")
        if isinstance(transactions, list) and transactions:
            failed.append({"path": where, "id": contract.get("id"), "transactions_count": len(transactions)})
    return counted_outcome(len(unsigned), len(unsigned) - len(failed), failed, "no contract is unsigned")


check = coherence("coherent.contracts_status", test, "pending or cancelled contracts have no transactions")
