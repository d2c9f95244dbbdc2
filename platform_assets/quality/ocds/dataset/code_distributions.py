"""dataset.<field>_distribution: no single code of a status or method field holds more than 99%
of the compiled releases having it (a dataset where everything is "active" is suspicious)."""

from __future__ import annotations

from platform_assets.lib.quality.dataset.distribution import CodeDistribution
from platform_assets.lib.quality.result import Level
from platform_assets.quality.ocds import codelists

MAX_SHARE = 0.99
MINIMUM_ITEMS = 20
FIELDS = {
    "tender.status": codelists.TENDER_STATUS,
    "awards.status": codelists.AWARD_STATUS,
    "contracts.status": codelists.CONTRACT_STATUS,
    "tender.procurementMethod": codelists.PROCUREMENT_METHOD,
    "tender.mainProcurementCategory": codelists.PROCUREMENT_CATEGORY,
}


def checks(minimum_items: int = MINIMUM_ITEMS) -> list[CodeDistribution]:
    return [
        CodeDistribution(
            name=f"dataset.{path.replace('.', '_')}_distribution",
            level=Level.DATASET,
            description=f"no {path} code holds more than {MAX_SHARE:.0%} of the values",
            path=path,
            bounds={code: (0.0, MAX_SHARE) for code in codes},
            minimum_items=minimum_items,
        )
        for path, codes in FIELDS.items()
    ]
