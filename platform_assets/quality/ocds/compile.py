"""Compiling releases into one compiled release per ocid (OCDS merge: by date, last value wins).

Objects merge key by key; arrays of objects that all carry an `id` merge element by element on
that id; any other array or value is replaced by the newer one; a null removes the field.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import pandas as pd


def _identified(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(e, dict) and "id" in e for e in value)


def merge_value(old: Any, new: Any) -> Any:
    if isinstance(old, dict) and isinstance(new, dict):
        merged = dict(old)
        for key, value in new.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = merge_value(merged.get(key), value)
        return merged
    if _identified(old) and _identified(new):
        by_id = {str(element["id"]): element for element in old}
        order = [str(element["id"]) for element in old]
        for element in new:
            key = str(element["id"])
            if key not in by_id:
                order.append(key)
            by_id[key] = merge_value(by_id.get(key), element)
        return [by_id[key] for key in order]
    return copy.deepcopy(new)


def _date_key(release: dict[str, Any]) -> tuple[int, pd.Timestamp]:
    date = release.get("date")
    parsed = pd.to_datetime(date, errors="coerce", utc=True, format="ISO8601") if isinstance(date, str) else pd.NaT
    # Undated or badly dated releases first: any dated release overrides them.
    return (0, pd.Timestamp(0, tz="UTC")) if pd.isna(parsed) else (1, parsed)


def compile_releases(releases: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """One compiled release from the releases of one ocid (sorted by date, stable for ties)."""
    ordered = sorted(releases, key=_date_key)
    compiled: dict[str, Any] = {}
    for release in ordered:
        compiled = merge_value(compiled, {key: value for key, value in release.items() if key not in ("id", "tag")})
    ocid = compiled.get("ocid", "")
    date = compiled.get("date", "")
    compiled["id"] = f"{ocid}-{date}"
    compiled["tag"] = ["compiled"]
    return compiled
