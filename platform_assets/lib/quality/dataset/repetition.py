"""Dataset-level repetition: the most frequent values do not hold too many of the items
(value repetition: the same amount over and over; buyer repetition: one buyer everywhere)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from platform_assets.lib.quality.batch import Batch
from platform_assets.lib.quality.check import Check, Evaluator
from platform_assets.lib.quality.result import CheckResult, Outcome
from platform_assets.lib.quality.sampling import Reservoir, seed_for

KeyOf = Callable[[dict[str, Any]], Any]
MAX_TRACKED = 100_000


@dataclass(frozen=True)
class Repetition(Check):
    """The `top` most frequent keys together cover at most `max_share` of the items with a key.

    One outcome for the dataset; the score is 100 - that share in percent; examples are items
    holding the most frequent keys.
    """

    key_of: KeyOf | None = None
    top: int = 1
    max_share: float = 0.5
    minimum_items: int = 10

    def evaluator(self, seed: int = 0) -> Evaluator:
        return _RepetitionEvaluator(self, seed)


class _RepetitionEvaluator(Evaluator):
    def __init__(self, check: Repetition, seed: int) -> None:
        self.check = check
        self.counts: Counter[str] = Counter()
        self.samples: dict[str, Reservoir] = {}
        self.seed = seed_for(check.name, seed)
        self.items = 0

    def update(self, batch: Batch) -> None:
        assert batch.items is not None and self.check.key_of is not None
        for position, item in enumerate(batch.items):
            key = self.check.key_of(item)
            if key is None:
                continue
            key = str(key)
            self.items += 1
            self.counts[key] += 1
            reservoir = self.samples.get(key)
            if reservoir is None and len(self.samples) < MAX_TRACKED:
                reservoir = self.samples[key] = Reservoir(self.seed, size=3)
            if reservoir is not None:
                reservoir.offer(1, lambda _i, position=position: batch.item_id(position))

    def finish(self, has_previous: bool) -> CheckResult:
        check = self.check
        result = CheckResult(check.name, check.level, check.description, threshold=check.threshold)
        result.meta = {"items": self.items, "top": check.top, "max_share": check.max_share}
        if self.items < check.minimum_items:
            result.not_applicable = 1
            result.meta["reason"] = f"fewer than {check.minimum_items} items"
            return result
        common = self.counts.most_common(check.top)
        share = sum(count for _key, count in common) / self.items
        result.score = round(100.0 * (1 - share), 2)
        result.meta.update({"top_share": round(share, 4), "most_common": [[key, count] for key, count in common]})
        examples = [
            {"item": item, "key": key, "items_with_key": count}
            for key, count in common
            for item in (self.samples[key].items if key in self.samples else [])
        ][:20]
        if share <= check.max_share:
            result.passed = 1
            result.examples = {Outcome.PASSED: examples}
        else:
            result.failed = 1
            result.examples = {Outcome.FAILED: examples}
        return result
