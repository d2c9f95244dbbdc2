"""coherent.procurement_method_vs_number_of_tenderers: a direct procurement has 0 or 1 tenderer
(pelican-backend `contracting_process/resource_level/coherent/procurement_method_vs_number_of_tenderers.py`)."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.lib.quality.result import FAILED, NOT_APPLICABLE, PASSED
from platform_assets.quality.ocds.values import as_float, dig


def test(item: dict[str, Any]) -> ItemOutcome:
    tenderers = as_float(dig(item, "tender.numberOfTenderers"))
    if tenderers is None:
        return NOT_APPLICABLE, {"reason": "numberOfTenderers is non-numeric"}
    if dig(item, "tender.procurementMethod") != "direct":
        return NOT_APPLICABLE, {"reason": "procurementMethod is not direct"}
    if tenderers in (0, 1):
        return PASSED, {"numberOfTenderers": tenderers}
    return FAILED, {"numberOfTenderers": dig(item, "tender.numberOfTenderers")}


check = coherence("coherent.procurement_method_vs_number_of_tenderers", test, "a direct procurement has 0 or 1 tenderer")
