"""coherent.dates: tender -> award -> contract -> transaction dates are in that order.

Pairs compared (each only when both dates exist): tender period start <= award date;
award date <= date signed of the contracts implementing it (by awardID);
contract date signed <= its transactions' dates. Fails on the first pair out of order.
"""

from __future__ import annotations

from typing import Any

from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.lib.quality.result import FAILED, NOT_APPLICABLE, PASSED
from platform_assets.quality.ocds.values import date_of, dig, obj, objects, transactions


def pairs(item: dict[str, Any]) -> list[tuple[str, str, Any, Any]]:
    found = []
    tender_start = date_of(dig(item, "tender.tenderPeriod.startDate"))
    awards = objects(item.get("awards"))
    award_dates = {str(award.get("id")): date_of(award.get("date")) for award in awards}
    for award in awards:
        if tender_start is not None and award_dates[str(award.get("id"))] is not None:
            found.append(("tender.tenderPeriod.startDate", f"awards[{award.get('id')}].date", tender_start, award_dates[str(award.get("id"))]))
    for contract in objects(item.get("contracts")):
        signed = date_of(contract.get("dateSigned"))
        award_date = award_dates.get(str(contract.get("awardID")))
        if signed is not None and award_date is not None:
            found.append((f"awards[{contract.get('awardID')}].date", f"contracts[{contract.get('id')}].dateSigned", award_date, signed))
    for contract, transaction in transactions(item):
        signed = date_of(contract.get("dateSigned"))
        paid = date_of(obj(transaction).get("date"))
        if signed is not None and paid is not None:
            found.append((f"contracts[{contract.get('id')}].dateSigned", f"transactions[{transaction.get('id')}].date", signed, paid))
    return found


def test(item: dict[str, Any]) -> ItemOutcome:
    compared = pairs(item)
    if not compared:
        return NOT_APPLICABLE, {"reason": "no pair of dates to compare"}
    for first, second, before, after in compared:
        if before > after:
            return FAILED, {"before": first, "after": second, "dates": [before.isoformat(), after.isoformat()]}
    return PASSED, {"pairs": len(compared)}


check = coherence("coherent.dates", test, "tender start <= award date <= contract signature <= transaction dates")
