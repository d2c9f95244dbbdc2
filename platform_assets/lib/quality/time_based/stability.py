"""Time-based stability: an item present before and now keeps a value (or does not go backwards)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from platform_assets.lib.deferred import np
from platform_assets.lib.quality.batch import Batch, ItemBatch
from platform_assets.lib.quality.check import Check, Evaluator, score_of
from platform_assets.lib.quality.result import FAILED, NOT_APPLICABLE, PASSED, CheckResult, Level
from platform_assets.lib.quality.tally import Tally

from .persistence import DEFAULT_SHARE

ValueOf = Callable[[dict[str, Any]], Any]
Compare = Callable[[Any, Any], bool]


def unchanged(previous: Any, current: Any) -> bool:
    return previous == current


@dataclass(frozen=True)
class Stability(Check):
    """For items (by `key_of`) in both datasets whose previous value is not None: pass when
    `compare(previous, current)`; items new or gone are not applicable. Ok above `threshold`."""

    key_of: ValueOf | None = None
    value_of: ValueOf | None = None
    compare: Compare = unchanged

    def evaluator(self, seed: int = 0) -> Evaluator:
        return _StabilityEvaluator(self, Tally(self.name, seed))


class _StabilityEvaluator(Evaluator):
    def __init__(self, check: Stability, tally: Tally) -> None:
        self.check = check
        self.tally = tally
        self.previous: dict[str, Any] = {}

    def update_previous(self, batch: Batch) -> None:
        assert isinstance(batch, ItemBatch) and self.check.key_of and self.check.value_of
        for item in batch.items:
            key, value = self.check.key_of(item), self.check.value_of(item)
            if key is not None and value is not None:
                self.previous[str(key)] = value

    def update(self, batch: Batch) -> None:
        assert isinstance(batch, ItemBatch) and self.check.key_of and self.check.value_of
        codes = np.empty(len(batch), dtype=np.int8)
        pairs: list[tuple[Any, Any]] = []
        for position, item in enumerate(batch.items):
            key = self.check.key_of(item)
            before = self.previous.get(str(key)) if key is not None else None
            now = self.check.value_of(item)
            pairs.append((before, now))
            if before is None:
                codes[position] = NOT_APPLICABLE
            else:
                codes[position] = PASSED if self.check.compare(before, now) else FAILED
        self.tally.add(codes, lambda i: {"item": batch.item_id(i), "previous": pairs[i][0], "current": pairs[i][1]})

    def finish(self, has_previous: bool) -> CheckResult:
        check = self.check
        result = self.tally.result(check.name, check.level, check.description, threshold=check.threshold)
        if not has_previous:
            result.meta["reason"] = "no previous dataset"
        return score_of(result)


def stability(name: str, key_of: ValueOf, value_of: ValueOf, compare: Compare = unchanged, description: str = "", threshold: float = DEFAULT_SHARE) -> Stability:
    return Stability(name=name, level=Level.TIME, description=description, threshold=threshold, key_of=key_of, value_of=value_of, compare=compare)
