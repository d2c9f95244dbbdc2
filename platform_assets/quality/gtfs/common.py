"""Helpers shared by the GTFS rule modules."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.deferred import pd
from platform_assets.lib.quality.check import score_of
from platform_assets.lib.quality.result import CheckResult, Level
from platform_assets.lib.quality.tally import Tally


def result_of(name: str, level: Level, description: str, tally: Tally, **meta: Any) -> CheckResult:
    result = score_of(tally.result(name, level, description))
    result.meta.update(meta)
    return result


def keys_of(*columns: pd.Series) -> set[str]:
    keys: set[str] = set()
    for column in columns:
        keys.update(str(value) for value in column.dropna().unique())
    return keys
