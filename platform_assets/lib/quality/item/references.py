"""Item-level references: every identifier at one path points at an object of the same item."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.quality.batch import is_empty, values_at
from platform_assets.lib.quality.check import ItemCheck, ItemOutcome, ItemTest
from platform_assets.lib.quality.result import FAILED, NOT_APPLICABLE, PASSED, Level


def _flat(values: list[Any]) -> list[Any]:
    flat: list[Any] = []
    for value in values:
        flat.extend(value if isinstance(value, list) else [value])
    return [value for value in flat if not is_empty(value) and not isinstance(value, dict | list)]


def reference_test(reference_path: str, target_path: str) -> ItemTest:
    def test(item: dict[str, Any]) -> ItemOutcome:
        references = _flat(values_at(item, reference_path))
        if not references:
            return NOT_APPLICABLE, {"reason": f"no {reference_path}"}
        targets = {str(value) for value in _flat(values_at(item, target_path))}
        missing = [ref for ref in references if str(ref) not in targets]
        if missing:
            return FAILED, {"missing": [str(ref) for ref in missing[:5]], "references": len(references)}
        return PASSED, {"references": len(references)}

    return test


def references(name: str, reference_path: str, target_path: str, description: str = "", threshold: float = 1.0) -> ItemCheck:
    return ItemCheck(
        name=name,
        level=Level.ITEM,
        description=description or f"every {reference_path} matches a {target_path} of the same item",
        threshold=threshold,
        test=reference_test(reference_path, target_path),
        meta={"reference": reference_path, "target": target_path},
    )
