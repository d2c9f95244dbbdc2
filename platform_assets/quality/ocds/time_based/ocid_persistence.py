"""time.ocid_persistence: the ocids of the previous (or ancestor) dataset are still published
(passes when at least 95% are)."""

from __future__ import annotations

from platform_assets.lib.quality.time_based.persistence import persistence

check = persistence("ocid", name="time.ocid_persistence")
