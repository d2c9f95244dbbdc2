"""reference.contract_in_awards: each contract has an awardID that matches the id of exactly one
award, of the same JSON type (pelican-backend
`contracting_process/resource_level/reference/contract_in_awards.py`)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.lib.quality.result import NOT_APPLICABLE
from platform_assets.quality.ocds.values import counted_outcome, has, hashable_id, located


def test(item: dict[str, Any]) -> ItemOutcome:
    contracts = located(item, "contracts")
    if not contracts:
        return NOT_APPLICABLE, {"reason": "no contract is set"}
    ids = [hashable_id(value) for _w, value in located(item, "awards.id")]
    counts = Counter((value, type(value)) for value in ids)
    as_text = {str(value) for value in ids}
    failed = []
    for where, contract in contracts:
        if not has(contract, "awardID"):
            failed.append({"path": where, "awardID": None, "reason": "contract has no awardID"})
            continue
        award_id = hashable_id(contract["awardID"])
        matches = counts[(award_id, type(award_id))]
        if matches == 1:
            continue
        if matches > 1:
            reason = "multiple awards match the awardID"
        elif not ids:
            reason = "no award has an id"
        elif str(award_id) in as_text:
            reason = "id is not the same type as awardID"
        else:
            reason = "no award matches the awardID"
        failed.append({"path": where, "awardID": contract["awardID"], "reason": reason})
    return counted_outcome(len(contracts), len(contracts) - len(failed), failed, "")


check = coherence("reference.contract_in_awards", test, "every contract's awardID names exactly one award")
