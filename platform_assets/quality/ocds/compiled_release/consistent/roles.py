"""consistent.<reference>_in_parties_roles: the party an organization reference points at carries
the matching role (the direction reference -> party; pelican-backend
`contracting_process/resource_level/consistent/roles.py`). References without an id, or whose id
matches no party or several, are left to reference.<reference>_in_parties."""

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


def _parties_with_id(item: dict[str, Any]) -> tuple[Counter[str], dict[str, tuple[str, dict[str, Any]]]]:
    """Parties with an id: how many share each id (as text), and the last one of each with its place."""
    parties = [(where, party) for where, party in located(item, "parties") if has(party, "id")]
    return Counter(str(party["id"]) for _w, party in parties), {str(party["id"]): (where, party) for where, party in parties}


def role_test(path: str, role: str) -> ItemTest:
    def test(item: dict[str, Any]) -> ItemOutcome:
        counts, by_id = derived(item, "parties_with_id", _parties_with_id)
        if not counts:
            return NOT_APPLICABLE, {"reason": "no party has an id"}
        references = [(w, r) for w, r in located(item, path) if has(r, "id") and counts[str(r["id"])] == 1]
        if not references:
            return NOT_APPLICABLE, {"reason": "no reference has an id and matches exactly one party"}
        failed = []
        for where, reference in references:
            party_where, party = by_id[str(reference["id"])]
            roles = party.get("roles") if isinstance(party.get("roles"), list) else []
            if role not in roles:
                failed.append({"party": party_where, "reference": where, "id": reference["id"], "role": role})
        return counted_outcome(len(references), len(references) - len(failed), failed, "")

    return test


checks: list[ItemCheck] = [
    coherence(f"consistent.{name}_in_parties_roles", role_test(path, role), f"the party {path} points at has the role {role}")
    for name, (path, role) in ORGANIZATION_REFERENCES.items()
]
