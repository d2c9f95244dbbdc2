"""dataset.top_value_share: the top 1% of compiled releases by awarded value hold at most 50% of
the total awarded value (Pelican's distribution.value). Needs at least 100 releases with a value."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.quality.dataset.distribution import TopShare
from platform_assets.lib.quality.result import Level
from platform_assets.quality.ocds.values import PER_USD, award_total


def awarded_usd(item: dict[str, Any]) -> float | None:
    total, currency = award_total(item)
    if total is None or currency not in PER_USD or total < 0:
        return None
    return total / PER_USD[currency]


def check(minimum_items: int = 100) -> TopShare:
    return TopShare(
        name="dataset.top_value_share",
        level=Level.DATASET,
        description="the top 1% of releases by awarded value hold at most 50% of the total",
        value_of=awarded_usd,
        top_fraction=0.01,
        max_share=0.5,
        minimum_items=minimum_items,
    )
