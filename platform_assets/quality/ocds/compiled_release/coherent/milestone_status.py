"""coherent.milestone_status: a milestone that is scheduled or not met has no dateMet
(pelican-backend `contracting_process/resource_level/coherent/milestone_status.py`)."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.quality.ocds.values import code, counted_outcome, located

UNMET = {"scheduled", "notMet"}
SECTIONS = ("planning", "tender", "contracts", "contracts.implementation")


def test(item: dict[str, Any]) -> ItemOutcome:
    unmet = [
        (where, milestone)
        for section in SECTIONS
        for where, milestone in located(item, f"{section}.milestones")
        if isinstance(milestone, dict) and code(milestone.get("status")) in UNMET
    ]
    failed = [{"path": where, "status": milestone["status"]} for where, milestone in unmet if milestone.get("dateMet")]
    return counted_outcome(len(unmet), len(unmet) - len(failed), failed, "no milestone is unmet")


check = coherence("coherent.milestone_status", test, "unmet milestones have no dateMet")
