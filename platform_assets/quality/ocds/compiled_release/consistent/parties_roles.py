"""consistent.parties_roles: every party referenced as buyer, procuring entity, tenderer, supplier,
payer or payee has that role in its `parties` entry (references to unknown parties are left to
the reference checks)."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.lib.quality.result import FAILED, NOT_APPLICABLE, PASSED
from platform_assets.quality.ocds.values import dig, obj, objects, party_id, transactions


def referenced(item: dict[str, Any]) -> list[tuple[str, str]]:
    """(party id, role) for every reference in the release."""
    found = [(party_id(item.get("buyer")), "buyer"), (party_id(dig(item, "tender.procuringEntity")), "procuringEntity")]
    found += [(party_id(t), "tenderer") for t in objects(dig(item, "tender.tenderers"))]
    found += [(party_id(s), "supplier") for a in objects(item.get("awards")) for s in objects(a.get("suppliers"))]
    for _contract, transaction in transactions(item):
        found += [(party_id(transaction.get("payer")), "payer"), (party_id(transaction.get("payee")), "payee")]
    return [(identifier, role) for identifier, role in found if identifier]


def test(item: dict[str, Any]) -> ItemOutcome:
    roles = {str(p.get("id")): set(r for r in p.get("roles") or [] if isinstance(r, str)) for p in objects(item.get("parties")) if isinstance(obj(p).get("roles"), list)}
    compared = [(identifier, role) for identifier, role in referenced(item) if identifier in roles]
    if not compared:
        return NOT_APPLICABLE, {"reason": "no referenced party with roles"}
    wrong = [f"{identifier} as {role}" for identifier, role in compared if role not in roles[identifier]]
    if wrong:
        return FAILED, {"missing_roles": wrong[:5]}
    return PASSED, {"references": len(compared)}


check = coherence("consistent.parties_roles", test, "referenced parties carry the matching role")
