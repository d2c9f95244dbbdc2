"""Quality: the value has the JSON type the schema expects (bool is never a number)."""

from __future__ import annotations

from typing import Any

from platform_assets.lib.deferred import np, pd
from platform_assets.lib.quality.check import FieldCheck
from platform_assets.lib.quality.result import Level

_TYPES: dict[str, Any] = {
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def type_test(kind: str) -> Any:
    if kind not in _TYPES:
        raise ValueError(f"unknown type {kind!r}: use one of {', '.join(_TYPES)}")
    predicate = _TYPES[kind]

    def test(values: pd.Series) -> np.ndarray:
        return np.fromiter((predicate(value) for value in values), dtype=bool, count=len(values))

    return test


def of_type(path: str, kind: str, name: str | None = None, threshold: float = 1.0) -> FieldCheck:
    return FieldCheck(
        name=name or f"{path}.type",
        level=Level.FIELD,
        description=f"{path} is a {kind}",
        threshold=threshold,
        path=path,
        kind="quality",
        test=type_test(kind),
    )
