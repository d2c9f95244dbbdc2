"""coherent.value_realistic: every monetary value is between -5 and +5 billion USD
(pelican-backend `contracting_process/resource_level/coherent/value_realistic.py`; converted with
fixed reference rates instead of the day's rate; unknown currencies are skipped)."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.quality.ocds.values import as_float, counted_outcome, located, to_usd

LIMIT_USD = 5e9
VALUES = (
    "tender.value", "tender.minValue", "awards.value", "contracts.value", "planning.budget.amount",
    "contracts.implementation.transactions.value",
)


def test(item: dict[str, Any]) -> ItemOutcome:
    applied, failed = 0, []
    for path in VALUES:
        for where, value in located(item, path):
            if not isinstance(value, dict):
                continue
            number = as_float(value.get("amount"))
            if number is None:
                continue
            usd = to_usd(number, value.get("currency"))
            if usd is None:
                continue
            applied += 1
            if not -LIMIT_USD <= usd <= LIMIT_USD:
                failed.append({"path": where, "amount": number, "currency": value.get("currency")})
    return counted_outcome(applied, applied - len(failed), failed, "no numeric, convertable amounts")


check = coherence("coherent.value_realistic", test, "amounts are between -5 and +5 billion USD")
