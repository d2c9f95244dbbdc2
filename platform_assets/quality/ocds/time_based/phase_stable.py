"""time.phase_stable: a process never goes back to an earlier phase (planning < tender < award <
contract < implementation) between the previous dataset and this one (passes at 95%)."""

from __future__ import annotations

from platform_assets.lib.quality.time_based.stability import stability
from platform_assets.quality.ocds.values import PHASES, phase


def not_backwards(previous: int, current: int) -> bool:
    return current >= previous


def phase_name(rank: int) -> str:
    return PHASES[rank - 1] if rank else "none"


check = stability(
    "time.phase_stable",
    key_of=lambda item: item.get("ocid"),
    value_of=lambda item: phase(item) or None,
    compare=not_backwards,
    description="processes keep (or pass) the phase they had reached",
)
