"""reference.<role>_in_parties: buyer, procuring entity, tenderers, suppliers, payers and payees
name (by id) an entry of `parties` in the same compiled release."""

from __future__ import annotations

from platform_assets.lib.quality.item.references import references

REFERENCES = {
    "buyer": "buyer.id",
    "procuring_entity": "tender.procuringEntity.id",
    "tenderer": "tender.tenderers.id",
    "supplier": "awards.suppliers.id",
    "payer": "contracts.implementation.transactions.payer.id",
    "payee": "contracts.implementation.transactions.payee.id",
}

checks = [
    references(f"reference.{role}_in_parties", path, "parties.id", f"every {path} is the id of an entry of parties")
    for role, path in REFERENCES.items()
]
