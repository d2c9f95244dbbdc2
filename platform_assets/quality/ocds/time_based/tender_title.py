"""time.tender_title: a process's tender title is unchanged since the previous dataset (95%)."""

from __future__ import annotations

from platform_assets.lib.quality.time_based.stability import stability
from platform_assets.quality.ocds.values import dig

check = stability(
    "time.tender_title",
    key_of=lambda item: item.get("ocid"),
    value_of=lambda item: dig(item, "tender.title") or None,
    description="tender titles stay the same",
)
