"""dataset.value_repetition: the 5 most repeated award values (amount and currency) are found in
at most 10% of the compiled releases with an award value."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.quality.dataset.repetition import Repetition
from platform_assets.lib.quality.result import Level
from platform_assets.quality.ocds.values import amount, objects


def award_value(item: dict[str, Any]) -> str | None:
    for award in objects(item.get("awards")):
        number, currency = amount(award.get("value"))
        if number is not None:
            return f"{number:g} {currency or ''}".strip()
    return None


def check(minimum_items: int = 10) -> Repetition:
    return Repetition(
        name="dataset.value_repetition",
        level=Level.DATASET,
        description="the 5 most repeated award values cover at most 10% of releases",
        key_of=award_value,
        top=5,
        max_share=0.1,
        minimum_items=minimum_items,
    )
