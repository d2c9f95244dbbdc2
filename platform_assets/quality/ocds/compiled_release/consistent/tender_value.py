"""consistent.tender_value: the planning budget is within 50% of the tender value
(|tender - budget| / |tender| <= 0.5; pelican-backend
`contracting_process/resource_level/consistent/tender_value.py`). Different currencies are
compared in USD (fixed rates); zero amounts and amounts of different signs are skipped."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.lib.quality.result import FAILED, NOT_APPLICABLE, PASSED
from platform_assets.quality.ocds.values import as_float, comparable, dig


def test(item: dict[str, Any]) -> ItemOutcome:
    budget_currency, tender_currency = dig(item, "planning.budget.amount.currency"), dig(item, "tender.value.currency")
    if budget_currency is None or tender_currency is None:
        return NOT_APPLICABLE, {"reason": "a currency is missing"}
    budget, tender = as_float(dig(item, "planning.budget.amount.amount")), as_float(dig(item, "tender.value.amount"))
    if budget is None or tender is None:
        return NOT_APPLICABLE, {"reason": "an amount is missing or non-numeric"}
    both = comparable([(budget, budget_currency), (tender, tender_currency)])
    if both is None or 0 in both:
        return NOT_APPLICABLE, {"reason": "an amount is zero or unconvertable"}
    budget, tender = both
    if (tender > 0) != (budget > 0):
        return NOT_APPLICABLE, {"reason": "the amounts have different signs"}
    detail = {"tender.value": dig(item, "tender.value"), "planning.budget.amount": dig(item, "planning.budget.amount")}
    return (PASSED if abs(tender - budget) / abs(tender) <= 0.5 else FAILED), detail


check = coherence("consistent.tender_value", test, "planning budget within 50% of the tender value")
