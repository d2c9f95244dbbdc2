"""coherent.dates: the contracting process timeline is in order, by calendar date
(pelican-backend `contracting_process/resource_level/coherent/dates.py`):
tender end <= tender contract period start, award dates and contract signatures;
award dates, contract signatures and transaction dates <= the release date;
a contract's signature <= its transactions; an award's date <= the signature of its contracts."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.quality.ocds.values import dates_outcome, has, located, pairs_between

RULES = (
    ("tender.tenderPeriod.endDate", "tender.contractPeriod.startDate", False),
    ("tender.tenderPeriod.endDate", "awards.date", False),
    ("tender.tenderPeriod.endDate", "contracts.dateSigned", False),
    ("awards.date", "date", False),
    ("contracts.dateSigned", "date", False),
    ("contracts.implementation.transactions.date", "date", False),
    ("contracts.dateSigned", "contracts.implementation.transactions.date", True),
)


def test(item: dict[str, Any]) -> ItemOutcome:
    pairs = pairs_between(item, RULES)
    awards = [(where, award) for where, award in located(item, "awards") if has(award, "date") and has(award, "id")]
    for contract_where, contract in located(item, "contracts"):
        if not (has(contract, "dateSigned") and has(contract, "awardID")):
            continue
        for award_where, award in awards:
            if str(award["id"]) == str(contract["awardID"]):
                pairs.append(((f"{award_where}.date", award["date"]), (f"{contract_where}.dateSigned", contract["dateSigned"])))
    return dates_outcome(pairs)


check = coherence("coherent.dates", test, "tender end, awards, contract signatures, transactions and release date in order")
