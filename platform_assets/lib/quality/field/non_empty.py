"""Coverage: a present field holds something (not null, blank text, empty list or object)."""

from __future__ import annotations

from platform_assets.lib.quality.check import FieldCheck
from platform_assets.lib.quality.result import Level


def non_empty(path: str, name: str | None = None, threshold: float = 1.0) -> FieldCheck:
    return FieldCheck(
        name=name or f"{path}.non_empty",
        level=Level.FIELD,
        description=f"{path} is not empty",
        threshold=threshold,
        path=path,
        kind="non_empty",
    )
