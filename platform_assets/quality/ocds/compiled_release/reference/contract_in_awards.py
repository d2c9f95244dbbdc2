"""reference.contract_in_awards: every contracts.awardID is the id of an award."""

from __future__ import annotations

from platform_assets.lib.quality.item.references import references

check = references("reference.contract_in_awards", "contracts.awardID", "awards.id", "every contract's awardID names an award")
