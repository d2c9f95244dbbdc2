"""OCDS 1.1 closed codelists the extra (non-Pelican) field checks use."""

from __future__ import annotations

TENDER_STATUS = ("planning", "planned", "active", "cancelled", "unsuccessful", "complete", "withdrawn")
AWARD_STATUS = ("pending", "active", "cancelled", "unsuccessful")
CONTRACT_STATUS = ("pending", "active", "cancelled", "terminated")
PROCUREMENT_METHOD = ("open", "selective", "limited", "direct")
PROCUREMENT_CATEGORY = ("goods", "works", "services")
INITIATION_TYPE = ("tender",)
PARTY_ROLES = (
    "buyer", "procuringEntity", "supplier", "tenderer", "funder", "enquirer", "payer", "payee",
    "reviewBody", "interestedParty",
)
# documentType, language, media types, identifier schemes and OCID prefixes come from the
# package data (registers.py), as Pelican reads them.
