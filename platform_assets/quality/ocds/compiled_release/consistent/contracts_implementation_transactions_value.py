"""consistent.contracts_implementation_transactions_value: a contract's transactions add up to at
most the contract's value (pelican-backend
`contracting_process/resource_level/consistent/contracts_implementation_transactions_value.py`;
other currencies compared in USD with fixed rates; missing amounts or currencies skip the contract)."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.lib.quality.result import NOT_APPLICABLE
from platform_assets.quality.ocds.values import (
    as_float,
    comparable,
    counted_outcome,
    dig,
    located,
    located_within,
)


def test(item: dict[str, Any]) -> ItemOutcome:
    contracts = located(item, "contracts")
    if not contracts:
        return NOT_APPLICABLE, {"reason": "no contract is set"}
    applied, failed = 0, []
    for where, contract in contracts:
        transactions = [value for _w, value in located_within(contract, "implementation.transactions")]
        if not transactions:
            continue
        values = [contract, *transactions]
        numbers = [as_float(dig(value, "value.amount")) for value in values]
        if any(number is None for number in numbers):
            continue
        converted = comparable([(n, dig(v, "value.currency")) for n, v in zip(numbers, values, strict=True) if n is not None])
        if converted is None:
            continue
        contract_amount, *paid = converted
        applied += 1
        if sum(paid) > contract_amount:
            failed.append({"path": where, "contract_amount": contract_amount, "transactions_amount_sum": sum(paid)})
    return counted_outcome(applied, applied - len(failed), failed, "no numeric, convertable amounts")


check = coherence(
    "consistent.contracts_implementation_transactions_value", test, "a contract's transactions add up to at most its value"
)
