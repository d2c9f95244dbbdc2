"""consistent.contracts_value: for each award, its contracts' total is within 50% of the award's
value (pelican-backend `contracting_process/resource_level/consistent/contracts_value.py`; other
currencies compared in USD with fixed rates). Skipped: awards whose id is not unique, without
contracts, with a missing, zero or non-numeric amount, or amounts of different signs."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.lib.quality.result import NOT_APPLICABLE
from platform_assets.quality.ocds.values import as_float, comparable, counted_outcome, dig, has, objects


def test(item: dict[str, Any]) -> ItemOutcome:
    awards = [award for award in objects(item.get("awards")) if has(award, "id")]
    if not awards:
        return NOT_APPLICABLE, {"reason": "no award has an id"}
    contracts = defaultdict(list)
    for contract in objects(item.get("contracts")):
        if has(contract, "awardID"):
            contracts[str(contract["awardID"])].append(contract)
    if not contracts:
        return NOT_APPLICABLE, {"reason": "no contract has an awardID"}
    ids = Counter(str(award["id"]) for award in awards)
    applied, failed = 0, []
    for award in awards:
        award_id = str(award["id"])
        matches = contracts.get(award_id, [])
        if ids[award_id] != 1 or not matches:
            continue
        values = [award, *matches]
        numbers = [as_float(dig(value, "value.amount")) for value in values]
        if any(number is None for number in numbers):
            continue
        converted = comparable([(n, dig(v, "value.currency")) for n, v in zip(numbers, values, strict=True) if n is not None])
        if converted is None or 0 in converted:
            continue
        awarded, *parts = converted
        if any((part > 0) != (awarded > 0) for part in parts):
            continue
        applied += 1
        if abs(awarded - sum(parts)) / abs(awarded) > 0.5:
            failed.append({"award_id": award["id"], "award_amount": awarded, "contracts_amount_sum": sum(parts)})
    return counted_outcome(applied, applied - len(failed), failed, "no award-contracts pairs have numeric, non-zero, same-sign, convertable amounts")


check = coherence("consistent.contracts_value", test, "each award's contracts total within 50% of the award's value")
