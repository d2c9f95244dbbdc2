"""Item-level coherence: a rule relating several fields of one item (dates in order, statuses agree)."""

from __future__ import annotations

from platform_assets.lib.quality.check import ItemCheck, ItemTest
from platform_assets.lib.quality.result import Level


def coherence(name: str, test: ItemTest, description: str = "", threshold: float = 1.0) -> ItemCheck:
    return ItemCheck(name=name, level=Level.ITEM, description=description, threshold=threshold, test=test)
