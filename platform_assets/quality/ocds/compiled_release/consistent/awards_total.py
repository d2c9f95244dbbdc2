"""consistent.awards_total_vs_tender_value (not a Pelican check; the comparison this project made
under the name consistent.tender_value before): the awards' total is within 50-150% of the tender
value, in one currency."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.lib.quality.result import FAILED, NOT_APPLICABLE, PASSED
from platform_assets.quality.ocds.values import amount, award_total, dig

LOW, HIGH = 0.5, 1.5


def test(item: dict[str, Any]) -> ItemOutcome:
    tender, tender_currency = amount(dig(item, "tender.value"))
    awarded, award_currency = award_total(item)
    if tender is None or awarded is None or tender <= 0 or tender_currency != award_currency:
        return NOT_APPLICABLE, {"reason": "no tender value and award total in one currency"}
    ratio = awarded / tender
    detail = {"tender": tender, "awards": awarded, "currency": tender_currency, "ratio": round(ratio, 4)}
    return (PASSED if LOW <= ratio <= HIGH else FAILED), detail


check = coherence("consistent.awards_total_vs_tender_value", test, "awards total within 50-150% of the tender value")
