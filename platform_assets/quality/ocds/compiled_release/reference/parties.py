"""reference.<reference>_in_parties: each organization reference has an id that matches the id of
exactly one party, of the same JSON type (pelican-backend
`contracting_process/resource_level/reference/parties.py`). A reference without an id, or a
`buyer` that is a string instead of an object, fails."""

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
    hashable_id,
    located,
)


def _party_ids(item: dict[str, Any]) -> tuple[list[Any], Counter[tuple[Any, type]], set[str]]:
    ids = [hashable_id(value) for _w, value in located(item, "parties.id")]
    # (value, type) so that 1 and "1" differ, as JSON types do.
    return ids, Counter((value, type(value)) for value in ids), {str(value) for value in ids}


def reference_test(path: str) -> ItemTest:
    def test(item: dict[str, Any]) -> ItemOutcome:
        references = located(item, path)
        if not references:
            return NOT_APPLICABLE, {"reason": "no reference is set"}
        ids, counts, as_text = derived(item, "party_ids", _party_ids)
        failed = []
        for where, reference in references:
            if not has(reference, "id"):
                failed.append({"path": where, "id": None, "reason": "reference has no id"})
                continue
            identifier = hashable_id(reference["id"])
            matches = counts[(identifier, type(identifier))]
            if matches == 1:
                continue
            if matches > 1:
                reason = "multiple parties match the referencing id"
            elif not ids:
                reason = "no party has an id"
            elif str(identifier) in as_text:
                reason = "id values are not the same type"
            else:
                reason = "no party matches the referencing id"
            failed.append({"path": where, "id": reference["id"], "reason": reason})
        return counted_outcome(len(references), len(references) - len(failed), failed, "")

    return test


checks: list[ItemCheck] = [
    coherence(f"reference.{name}_in_parties", reference_test(path), f"every {path} has the id of exactly one party")
    for name, (path, _role) in ORGANIZATION_REFERENCES.items()
]
