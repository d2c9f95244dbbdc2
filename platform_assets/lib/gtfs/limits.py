"""How much a feed archive may inflate, apart from the reader so that the settings naming these
limits load without it."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024
GIB = 1024 * MIB


@dataclass(frozen=True)
class ZipLimits:
    """How much a feed archive may inflate. Checked on the declared sizes first, then on the bytes
    actually inflated while streaming (declared sizes can lie)."""

    max_member_bytes: int = 512 * MIB
    max_feed_bytes: int = 1 * GIB
    max_ratio: int = 100
    # Small files compress very well and are harmless: the ratio is judged past this many bytes.
    ratio_floor_bytes: int = 16 * MIB


DEFAULT_LIMITS = ZipLimits()
