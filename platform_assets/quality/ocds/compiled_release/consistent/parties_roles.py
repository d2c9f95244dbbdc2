"""consistent.parties_roles: every party with the role procuringEntity, tenderer, supplier, payer
or payee is referenced by its id from the matching place (the direction party -> reference;
pelican-backend `contracting_process/resource_level/consistent/parties_role.py`). The buyer role
is not tested: several parties can be buyers but `buyer` names one."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.quality.check import ItemOutcome
from platform_assets.lib.quality.item.coherence import coherence
from platform_assets.quality.ocds.values import counted_outcome, has, located

REFERENCE_IDS = {
    "procuringEntity": "tender.procuringEntity.id",
    "tenderer": "tender.tenderers.id",
    "supplier": "awards.suppliers.id",
    "payer": "contracts.implementation.transactions.payer.id",
    "payee": "contracts.implementation.transactions.payee.id",
}


def test(item: dict[str, Any]) -> ItemOutcome:
    tested = [
        (where, str(party["id"]), role)
        for where, party in located(item, "parties")
        if has(party, "id")
        for role in (party.get("roles") if isinstance(party.get("roles"), list) else [])
        if isinstance(role, str) and role in REFERENCE_IDS
    ]
    # Each role's referencing ids once (a party list names each role once or more).
    references = {role: {str(value) for _w, value in located(item, REFERENCE_IDS[role])} for role in {role for _w, _i, role in tested}}
    failed = [{"path": where, "role": role, "id": identifier} for where, identifier, role in tested if identifier not in references[role]]
    return counted_outcome(len(tested), len(tested) - len(failed), failed, "no party has an id and an applicable role")


check = coherence("consistent.parties_roles", test, "every party's role is backed by a reference to it")
