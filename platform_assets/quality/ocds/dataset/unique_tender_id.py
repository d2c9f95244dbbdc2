"""dataset.unique_tender_id: no two compiled releases share a tender.id."""

from __future__ import annotations

from platform_assets.lib.quality.dataset.uniqueness import uniqueness

check = uniqueness("tender.id", name="dataset.unique_tender_id")
