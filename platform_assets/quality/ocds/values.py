"""Safe reading of compiled releases: real data has strings where objects belong, and worse."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import pandas as pd

PHASES = ("planning", "tender", "awards", "contracts", "implementation")


def obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def objects(value: Any) -> list[dict[str, Any]]:
    return [element for element in value if isinstance(element, dict)] if isinstance(value, list) else []


def code(value: Any) -> str | None:
    """A codelist value, or None when the value is not text (lists and objects are not codes)."""
    return value if isinstance(value, str) else None


def dig(item: Any, path: str) -> Any:
    """The value at a dotted path through objects only (None when anything is missing)."""
    node = item
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


@lru_cache(maxsize=65536)
def _parse_date(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        # Rarer ISO 8601 spellings Python does not read (e.g. 7-digit fractions): pandas does.
        fallback = pd.to_datetime(value, errors="coerce", utc=True, format="ISO8601")
        return None if pd.isna(fallback) else fallback.to_pydatetime()
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def date_of(value: Any) -> datetime | None:
    """An aware datetime (naive dates are taken as UTC), or None when it is not a date."""
    if not isinstance(value, str) or not value:
        return None
    return _parse_date(value)


def number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if value == value else None


def amount(value_object: Any) -> tuple[float | None, str | None]:
    """(amount, currency) of an OCDS Value object."""
    value = obj(value_object)
    currency = value.get("currency")
    return number(value.get("amount")), currency if isinstance(currency, str) and currency else None


def party_id(reference: Any) -> str | None:
    identifier = obj(reference).get("id")
    return str(identifier) if identifier not in (None, "") else None


def transactions(item: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(contract, transaction) pairs."""
    for contract in objects(item.get("contracts")):
        for transaction in objects(obj(contract.get("implementation")).get("transactions")):
            yield contract, transaction


def phase(item: dict[str, Any]) -> int:
    """How far the process got: 0 none, 1 planning, 2 tender, 3 award, 4 contract, 5 implementation."""
    reached = 0
    if obj(item.get("planning")):
        reached = 1
    if obj(item.get("tender")):
        reached = 2
    if objects(item.get("awards")):
        reached = 3
    contracts = objects(item.get("contracts"))
    if contracts:
        reached = 4
    if any(obj(contract.get("implementation")) for contract in contracts):
        reached = 5
    return reached


def award_total(item: dict[str, Any]) -> tuple[float | None, str | None]:
    """Sum of award values when they share one currency (None when there is nothing to sum)."""
    total, currencies = 0.0, set()
    found = False
    for award in objects(item.get("awards")):
        value, currency = amount(award.get("value"))
        if value is not None:
            total += value
            currencies.add(currency)
            found = True
    if not found or len(currencies) != 1:
        return None, None
    return total, currencies.pop()
