"""consistent.<reference>_name_in_parties: an organization reference's name is the name of the
party it points at (pelican-backend `contracting_process/resource_level/consistent/org_ref_name.py`).
Only references with an id and a name that match exactly one party with an id and a name."""

from __future__ import annotations

from collections import Counter
from typing import Any

from platform_assets.lib.quality.check import ItemCheck, ItemOutcome, ItemTest
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.lib.quality.result import NOT_APPLICABLE
from platform_assets.quality.ocds.values import (
    ORGANIZATION_REFERENCES,
    counted_outcome,
    derived,
    has,
    located,
)


def _named_parties(item: dict[str, Any]) -> tuple[Counter[str], dict[str, dict[str, Any]]]:
    """Parties with an id and a name: how many share each id (as text), and the last one of each."""
    parties = [party for _w, party in located(item, "parties") if has(party, "id") and has(party, "name")]
    return Counter(str(party["id"]) for party in parties), {str(party["id"]): party for party in parties}


def name_test(path: str) -> ItemTest:
    def test(item: dict[str, Any]) -> ItemOutcome:
        counts, by_id = derived(item, "named_parties", _named_parties)
        if not counts:
            return NOT_APPLICABLE, {"reason": "no party has an id and a name"}
        references = [(w, r) for w, r in located(item, path) if has(r, "id") and has(r, "name") and counts[str(r["id"])] == 1]
        if not references:
            return NOT_APPLICABLE, {"reason": "no reference has an id and a name and matches exactly one party"}
        failed = [
            {"reference": where, "id": reference["id"], "name": reference["name"], "party_name": by_id[str(reference["id"])]["name"]}
            for where, reference in references
            if reference["name"] != by_id[str(reference["id"])]["name"]
        ]
        return counted_outcome(len(references), len(references) - len(failed), failed, "")

    return test


checks: list[ItemCheck] = [
    coherence(f"consistent.{name}_name_in_parties", name_test(path), f"{path} names its party as parties does")
    for name, (path, _role) in ORGANIZATION_REFERENCES.items()
]
