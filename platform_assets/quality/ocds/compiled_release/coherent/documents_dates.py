"""coherent.documents_dates: a document is published before it is modified, and both happen
before the release date (pelican-backend `contracting_process/resource_level/coherent/documents_dates.py`)."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.quality.ocds.values import Located, dates_outcome, located, pairs_in_same

SECTIONS = ("planning", "tender", "awards", "contracts", "contracts.implementation")


def _document(location: str) -> str:
    return location.rsplit(".", 1)[0]  # "tender.documents[2].dateModified" -> "tender.documents[2]"


def test(item: dict[str, Any]) -> ItemOutcome:
    release_dates = located(item, "date")
    pairs: list[tuple[Located, Located]] = []
    for section in SECTIONS:
        published = located(item, f"{section}.documents.datePublished")
        modified = located(item, f"{section}.documents.dateModified")
        if published and modified:
            pairs += pairs_in_same(published, modified, _document)
        pairs += [(d, r) for d in (*published, *modified) for r in release_dates]
    return dates_outcome(pairs)


check = coherence("coherent.documents_dates", test, "documents published before modified, both before the release date")
