"""Coverage: the field is present wherever its parent object is."""

from __future__ import annotations

from platform_assets.lib.quality.check import FieldCheck
from platform_assets.lib.quality.result import Level


def exists(path: str, name: str | None = None, threshold: float = 1.0) -> FieldCheck:
    return FieldCheck(
        name=name or f"{path}.exists",
        level=Level.FIELD,
        description=f"{path} is present",
        threshold=threshold,
        path=path,
        kind="exists",
    )
