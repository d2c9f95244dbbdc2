"""dataset.buyer_repetition: no single buyer is found in more than 50% of the compiled releases."""

from __future__ import annotations

from platform_assets.lib.quality.dataset.repetition import Repetition
from platform_assets.lib.quality.result import Level
from platform_assets.quality.ocds.values import party_id


def check(minimum_items: int = 10) -> Repetition:
    return Repetition(
        name="dataset.buyer_repetition",
        level=Level.DATASET,
        description="the most frequent buyer is found in at most 50% of releases",
        key_of=lambda item: party_id(item.get("buyer")),
        top=1,
        max_share=0.5,
        minimum_items=minimum_items,
    )
