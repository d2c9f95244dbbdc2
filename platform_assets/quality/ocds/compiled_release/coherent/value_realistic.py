"""coherent.value_realistic: tender, award, contract and transaction amounts are between
0 and 5 billion USD (converted with fixed reference rates; unknown currencies are not applicable)."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.lib.quality.result import FAILED, NOT_APPLICABLE, PASSED
from platform_assets.quality.ocds.values import amount, dig, objects, transactions

MAXIMUM_USD = 5e9
# Units of currency per US dollar, rounded reference rates: enough to catch absurd values.
PER_USD = {
    "USD": 1.0, "EUR": 0.92, "GBP": 0.79, "CAD": 1.36, "MXN": 17.0, "PYG": 7300.0, "COP": 4000.0,
    "CLP": 900.0, "PEN": 3.7, "BRL": 5.0, "ARS": 350.0, "UAH": 37.0, "KES": 150.0, "NGN": 800.0,
    "INR": 83.0, "AUD": 1.5, "CHF": 0.9, "JPY": 150.0, "CNY": 7.2, "ZAR": 18.5, "PHP": 56.0,
}


def values(item: dict[str, Any]) -> list[tuple[str, Any]]:
    found = [("tender.value", dig(item, "tender.value"))]
    found += [(f"awards[{a.get('id')}].value", a.get("value")) for a in objects(item.get("awards"))]
    found += [(f"contracts[{c.get('id')}].value", c.get("value")) for c in objects(item.get("contracts"))]
    found += [(f"transactions[{t.get('id')}].value", t.get("value")) for _c, t in transactions(item)]
    return found


def test(item: dict[str, Any]) -> ItemOutcome:
    compared = 0
    for name, value in values(item):
        number, currency = amount(value)
        if number is None or currency not in PER_USD:
            continue
        compared += 1
        usd = number / PER_USD[currency]
        if not 0 <= usd <= MAXIMUM_USD:
            return FAILED, {"value": name, "amount": number, "currency": currency, "usd": round(usd, 2)}
    if not compared:
        return NOT_APPLICABLE, {"reason": "no amount in a known currency"}
    return PASSED, {"values": compared}


check = coherence("coherent.value_realistic", test, "amounts are between 0 and 5 billion USD")
