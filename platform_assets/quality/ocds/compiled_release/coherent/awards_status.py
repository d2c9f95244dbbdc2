"""coherent.awards_status: no contract's awardID names an award that is pending, cancelled or
unsuccessful (pelican-backend `contracting_process/resource_level/coherent/awards_status.py`)."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.quality.ocds.values import code, counted_outcome, has, located

INACTIVE = {"pending", "cancelled", "unsuccessful"}


def test(item: dict[str, Any]) -> ItemOutcome:
    inactive = [(where, a) for where, a in located(item, "awards") if isinstance(a, dict) and code(a.get("status")) in INACTIVE and has(a, "id")]
    award_ids = {str(value) for _where, value in located(item, "contracts.awardID")}
    failed = [{"path": where, "id": award["id"]} for where, award in inactive if str(award["id"]) in award_ids]
    return counted_outcome(len(inactive), len(inactive) - len(failed), failed, "no award with an id is inactive")


check = coherence("coherent.awards_status", test, "inactive awards have no contracts")
