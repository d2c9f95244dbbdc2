"""consistent.contracts_value: for each award, its contracts' total is within 50-150% of the award value."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.lib.quality.result import FAILED, NOT_APPLICABLE, PASSED
from platform_assets.quality.ocds.values import amount, objects

LOW, HIGH = 0.5, 1.5


def test(item: dict[str, Any]) -> ItemOutcome:
    compared = 0
    for award in objects(item.get("awards")):
        awarded, currency = amount(award.get("value"))
        if awarded is None or awarded <= 0:
            continue
        contracts = [c for c in objects(item.get("contracts")) if str(c.get("awardID")) == str(award.get("id"))]
        amounts = [amount(c.get("value")) for c in contracts]
        if not amounts or any(a is None or cur != currency for a, cur in amounts):
            continue
        compared += 1
        ratio = sum(a for a, _ in amounts if a is not None) / awarded
        if not LOW <= ratio <= HIGH:
            return FAILED, {"award": str(award.get("id")), "award_value": awarded, "ratio": round(ratio, 4)}
    if not compared:
        return NOT_APPLICABLE, {"reason": "no award with contract values in its currency"}
    return PASSED, {"awards": compared}


check = coherence("consistent.contracts_value", test, "contracts total within 50-150% of their award's value")
