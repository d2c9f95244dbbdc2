"""Safe reading of compiled releases: real data has strings where objects belong, and worse."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, TypeVar

from platform_assets.lib.deferred import pd
from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.result import FAILED, NOT_APPLICABLE, PASSED

T = TypeVar("T")
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
    for part in _steps(path):
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


# -- Pelican-style helpers (pelican-backend `pelican/util/getter.py`, `pelican/util/checks.py`) ---
Located = tuple[str, Any]  # (path with indexes, e.g. "awards[0].date", value)

# Organization references by the name Pelican gives them -> (path, the party role they stand for).
ORGANIZATION_REFERENCES = {
    "supplier": ("awards.suppliers", "supplier"),
    "tenderer": ("tender.tenderers", "tenderer"),
    "buyer": ("buyer", "buyer"),
    "procuring_entity": ("tender.procuringEntity", "procuringEntity"),
    "payer": ("contracts.implementation.transactions.payer", "payer"),
    "payee": ("contracts.implementation.transactions.payee", "payee"),
}


_ABSENT: Any = object()


@lru_cache(maxsize=4096)
def _steps(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


def _step(parents: tuple[Located, ...], key: str) -> tuple[Located, ...]:
    """One step of a path from already located values: `key` in each object, arrays expanded."""
    if len(parents) == 1:
        # One parent (the item itself, or an object reached without arrays): most steps.
        here, value = parents[0]
        if not isinstance(value, dict):
            return ()
        child = value.get(key, _ABSENT)
        if child is _ABSENT:
            return ()
        where = f"{here}.{key}" if here else key
        if isinstance(child, list):
            return tuple([(f"{where}[{index}]", element) for index, element in enumerate(child)])
        return ((where, child),)
    found: list[Located] = []
    for here, value in parents:
        if not isinstance(value, dict) or key not in value:
            continue
        child = value[key]
        where = f"{here}.{key}" if here else key
        if isinstance(child, list):
            found += [(f"{where}[{index}]", element) for index, element in enumerate(child)]
        else:
            found.append((where, child))
    # Absent paths (most of them) share the empty tuple: nothing for the garbage collector to track.
    return tuple(found) if found else ()


def _walk(node: Any, steps: tuple[str, ...]) -> tuple[Located, ...]:
    """Every value at the path `steps` of `node`, one `_step` at a time."""
    located: tuple[Located, ...] = (("", node),)
    for key in steps:
        located = _step(located, key)
        if not located:
            return ()
    return located


class _LocatedCache:
    """The compiled release checks ask for many paths of the same item: each item keeps the paths
    asked so far (a path is one step from its parent path, so shared prefixes are walked once,
    and parts of the item no check reads are never walked), for the last `size` items. Each entry
    holds the item itself, so its id cannot be reused by another object while the entry lives.
    Few entries: the checks run item by item, so only the last item or so is asked again, and the
    memos of hundreds of items (about 80 paths each) only pushed the live one out of the CPU caches."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self.entries: dict[int, tuple[Any, dict[str, tuple[Located, ...]]]] = {}
        # The item checks run item by item (lib/quality/check.py update_item_checks): the item asked
        # last is nearly always the one asked next. A sentinel, not None: `located(None, ...)` must
        # not match it.
        self.last: Any = _ABSENT
        self.last_memo: dict[Any, Any] = {}

    def memo_of(self, node: dict[str, Any]) -> dict[Any, Any]:
        if node is self.last:
            return self.last_memo
        entry = self.entries.get(id(node))
        if entry is None or entry[0] is not node:
            if len(self.entries) >= self.size:
                del self.entries[next(iter(self.entries))]  # the oldest
            entry = (node, {})
            self.entries[id(node)] = entry
        self.last, self.last_memo = node, entry[1]
        return entry[1]


def _resolve(node: dict[str, Any], memo: dict[Any, Any], path: str) -> tuple[Located, ...]:
    parent, _dot, key = path.rpartition(".")
    if parent:
        above = memo.get(parent)
        if above is None:
            above = _resolve(node, memo, parent)
        found = _step(above, key) if above else ()
    else:
        # A top-level key: `_step` written out for the item itself (a third of the paths asked).
        child = node.get(key, _ABSENT)
        if child is _ABSENT:
            found = ()
        elif isinstance(child, list):
            found = tuple([(f"{key}[{index}]", element) for index, element in enumerate(child)])
        else:
            found = ((key, child),)
    memo[path] = found
    return found


_located_cache = _LocatedCache()


def located(node: Any, path: str) -> tuple[Located, ...]:
    """Every value at the dotted `path` with its location ("awards[0].date"); arrays along the way
    are walked, and a final array gives one entry per element (as Pelican's get_values)."""
    # The cache's lookup written out for the usual case, the item asked last: this function runs
    # about 130 times per compiled release.
    cache = _located_cache
    if node is cache.last:
        memo = cache.last_memo
    elif isinstance(node, dict):
        memo = cache.memo_of(node)
    else:
        return ()
    found = memo.get(path)
    return _resolve(node, memo, path) if found is None else found


def derived(item: dict[str, Any], key: str, compute: Callable[[dict[str, Any]], T]) -> T:
    """`compute(item)`, once per item for `key` (kept beside the item's located paths): e.g. the
    parties by id that the 18 organization reference checks all read."""
    cache = _located_cache
    memo = cache.last_memo if item is cache.last else cache.memo_of(item)
    marker = ("derived", key)  # never a path (paths are text)
    found = memo.get(marker, _ABSENT)
    if found is _ABSENT:
        found = memo[marker] = compute(item)
    return found


def located_within(node: Any, path: str) -> tuple[Located, ...]:
    """`located` inside a part of an item (not cached: parts are many and each is asked once)."""
    return _walk(node, _steps(path)) if isinstance(node, dict) else ()


def day_of(value: Any) -> date | None:
    """The calendar date of an ISO 8601 text (its first 10 characters, as Pelican's parse_date)."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    return _day(value[:10])


@lru_cache(maxsize=65536)
def _day(text: str) -> date | None:
    # Cached: a dataset repeats its days (every check of dates reads the release date).
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def hashable_id(value: Any) -> Any:
    """An id as a dictionary key (objects and arrays, which are never valid ids, by their text)."""
    return value if isinstance(value, str | int | float | bool) or value is None else repr(value)


def has(node: Any, key: str) -> bool:
    return isinstance(node, dict) and key in node


def as_float(value: Any) -> float | None:
    """A number as Pelican reads one (float(value)): numeric text counts, None and objects do not."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float | str):
        try:
            result = float(value)
        except ValueError:
            return None
        return result if result == result else None
    return None


def first_of_array(location: str) -> str:
    """"contracts[0].dateSigned" -> "contracts[0]": pairs are compared inside one array element."""
    return location.split(".", 1)[0]


def dates_outcome(pairs: list[tuple[Located, Located]]) -> ItemOutcome:
    """Every pair (first, second) must have first <= second, by calendar date; unparseable dates
    are skipped (pelican `coherent_dates_check`)."""
    if not pairs:
        return NOT_APPLICABLE, {"reason": "no pairs of dates are set"}
    applied = 0
    failed: list[dict[str, Any]] = []
    for (first_path, first_value), (second_path, second_value) in pairs:
        first, second = day_of(first_value), day_of(second_value)
        if first is None or second is None:
            continue
        applied += 1
        if first > second:
            failed.append({"path_1": first_path, "value_1": first_value, "path_2": second_path, "value_2": second_value})
    if not applied:
        return NOT_APPLICABLE, {"reason": "no pairs of dates are parseable"}
    if failed:
        return FAILED, {"pairs": applied, "failed": len(failed), "failed_paths": failed[:5]}
    return PASSED, {"pairs": applied}


def pairs_between(item: dict[str, Any], rules: tuple[tuple[str, str, bool], ...]) -> list[tuple[Located, Located]]:
    """Date pairs for (first path, second path, same array element only) rules."""
    pairs: list[tuple[Located, Located]] = []
    for first_path, second_path, same_element in rules:
        firsts, seconds = located(item, first_path), located(item, second_path)
        if not firsts or not seconds:
            continue
        if not same_element:
            pairs += [(first, second) for first in firsts for second in seconds]
            continue
        pairs += pairs_in_same(firsts, seconds, first_of_array)
    return pairs


def pairs_in_same(firsts: list[Located], seconds: list[Located], owner: Callable[[str], str]) -> list[tuple[Located, Located]]:
    """(first, second) pairs whose locations have the same `owner` (e.g. the same array element);
    each location's owner worked out once, not once per pair."""
    owners = [owner(second[0]) for second in seconds]
    return [
        (first, second)
        for first in firsts
        for first_owner in (owner(first[0]),)
        for second, second_owner in zip(seconds, owners, strict=True)
        if first_owner == second_owner
    ]


def counted_outcome(applied: int, passed: int, failed: list[Any], reason: str) -> ItemOutcome:
    """PASSED when every application passed (pelican `complete_result_resource`)."""
    if not applied:
        return NOT_APPLICABLE, {"reason": reason}
    if passed == applied:
        return PASSED, {"applied": applied}
    return FAILED, {"applied": applied, "passed": passed, "failed_paths": failed[:5]}


# Units of currency per US dollar, rounded reference rates: Pelican converts with the day's rate
# of the release date; fixed rates are enough to compare magnitudes (unknown currencies: skipped).
PER_USD = {
    "USD": 1.0, "EUR": 0.92, "GBP": 0.79, "CAD": 1.36, "MXN": 17.0, "PYG": 7300.0, "COP": 4000.0,
    "CLP": 900.0, "PEN": 3.7, "BRL": 5.0, "ARS": 350.0, "UAH": 37.0, "KES": 150.0, "NGN": 800.0,
    "INR": 83.0, "AUD": 1.5, "CHF": 0.9, "JPY": 150.0, "CNY": 7.2, "ZAR": 18.5, "PHP": 56.0,
}


def to_usd(amount_value: float, currency: Any) -> float | None:
    rate = PER_USD.get(currency) if isinstance(currency, str) else None
    return None if rate is None else amount_value / rate


def comparable(amounts: list[tuple[float, Any]]) -> list[float] | None:
    """Amounts in one currency as they are, in several converted to USD; None when one cannot be."""
    currencies = {hashable_id(currency) for _amount, currency in amounts}
    if None in currencies:
        return None
    if len(currencies) == 1:
        return [value for value, _currency in amounts]
    converted = [to_usd(value, currency) for value, currency in amounts]
    return None if any(value is None for value in converted) else [value for value in converted if value is not None]
