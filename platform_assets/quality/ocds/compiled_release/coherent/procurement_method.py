"""coherent.procurement_method: a direct procurement has at most one tenderer."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.lib.quality.result import FAILED, NOT_APPLICABLE, PASSED
from platform_assets.quality.ocds.values import dig, number


def test(item: dict[str, Any]) -> ItemOutcome:
    method = dig(item, "tender.procurementMethod")
    tenderers = number(dig(item, "tender.numberOfTenderers"))
    if method != "direct" or tenderers is None:
        return NOT_APPLICABLE, {"reason": "not a direct procurement with a number of tenderers"}
    if tenderers > 1:
        return FAILED, {"procurementMethod": method, "numberOfTenderers": tenderers}
    return PASSED, {"numberOfTenderers": tenderers}


check = coherence("coherent.procurement_method", test, "direct procurements have at most one tenderer")
