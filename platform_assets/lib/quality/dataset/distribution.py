"""Dataset-level distribution: the share of each code stays within bounds, and no small group of
items holds most of the total value (top-1% value share)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from platform_assets.lib.deferred import np
from platform_assets.lib.quality.batch import Batch, is_empty
from platform_assets.lib.quality.check import Check, Evaluator, short
from platform_assets.lib.quality.result import CheckResult, Outcome
from platform_assets.lib.quality.sampling import Reservoir, seed_for

MAX_CODES = 200


@dataclass(frozen=True)
class CodeDistribution(Check):
    """Each listed code's share of the items having the field is within [low, high].

    Pass / fail count codes; the score is the share of codes within bounds; examples are items
    holding an out-of-bounds code.
    """

    path: str = ""
    bounds: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    minimum_items: int = 1

    def evaluator(self, seed: int = 0) -> Evaluator:
        return _CodeDistributionEvaluator(self, seed)


class _CodeDistributionEvaluator(Evaluator):
    def __init__(self, check: CodeDistribution, seed: int) -> None:
        self.check = check
        self.counts: Counter[str] = Counter()
        self.samples: dict[str, Reservoir] = {}
        self.seed = seed_for(check.name, seed)

    def update(self, batch: Batch) -> None:
        occurrences = batch.field(self.check.path)
        for owner, value in zip(occurrences.owners, occurrences.values, strict=True):
            if is_empty(value) or not isinstance(value, str | int | float):
                continue
            code = str(value)
            self.counts[code] += 1
            reservoir = self.samples.get(code)
            if reservoir is None and (code in self.check.bounds or len(self.samples) < MAX_CODES):
                reservoir = self.samples[code] = Reservoir(self.seed + len(self.samples))
            if reservoir is not None:
                reservoir.offer(1, lambda _i, owner=owner, code=code: {"item": batch.item_id(int(owner)), "path": self.check.path, "value": code})

    def finish(self, has_previous: bool) -> CheckResult:
        check = self.check
        total = sum(self.counts.values())
        shares = {code: count / total for code, count in self.counts.most_common()} if total else {}
        result = CheckResult(check.name, check.level, check.description, threshold=check.threshold)
        result.meta = {"path": check.path, "items": total, "shares": {code: round(share, 4) for code, share in shares.items()}}
        if total < check.minimum_items:
            result.not_applicable = len(check.bounds)
            result.meta["reason"] = f"fewer than {check.minimum_items} values"
            return result
        failing: list[dict[str, Any]] = []
        passing: list[dict[str, Any]] = []
        for code, (low, high) in check.bounds.items():
            share = shares.get(code, 0.0)
            if low <= share <= high:
                result.passed += 1
                passing.extend(self.samples[code].items[:2] if code in self.samples else [])
            else:
                result.failed += 1
                detail = {"code": code, "share": round(share, 4), "bounds": [low, high]}
                failing.extend({**sample, **detail} for sample in (self.samples[code].items if code in self.samples else [{}]))
        result.examples = {Outcome.FAILED: failing[:20], Outcome.PASSED: passing[:20]}
        result.examples = {k: v for k, v in result.examples.items() if v}
        result.score = round(100.0 * result.passed / len(check.bounds), 2) if check.bounds else None
        return result


ValueOf = Callable[[dict[str, Any]], float | None]


@dataclass(frozen=True)
class TopShare(Check):
    """The top `top_fraction` of items by value hold at most `max_share` of the total value.

    One outcome for the dataset; the score is the top share in percent; examples are the largest items.
    """

    value_of: ValueOf | None = None
    top_fraction: float = 0.01
    max_share: float = 0.5
    minimum_items: int = 100

    def evaluator(self, seed: int = 0) -> Evaluator:
        return _TopShareEvaluator(self)


class _TopShareEvaluator(Evaluator):
    KEEP = 20

    def __init__(self, check: TopShare) -> None:
        self.check = check
        self.values: list[np.ndarray] = []  # one float per item: bounded, 8 bytes each
        self.largest: list[tuple[float, str]] = []

    def update(self, batch: Batch) -> None:
        assert batch.items is not None and self.check.value_of is not None
        values = [self.check.value_of(item) for item in batch.items]
        found = [(float(v), batch.item_id(i)) for i, v in enumerate(values) if v is not None and v == v]
        if found:
            self.values.append(np.fromiter((v for v, _ in found), dtype=float, count=len(found)))
            self.largest = sorted(self.largest + sorted(found, reverse=True)[: self.KEEP], reverse=True)[: self.KEEP]

    def finish(self, has_previous: bool) -> CheckResult:
        check = self.check
        values = np.concatenate(self.values) if self.values else np.empty(0)
        result = CheckResult(check.name, check.level, check.description, threshold=check.threshold)
        result.meta = {"items": int(len(values)), "top_fraction": check.top_fraction, "max_share": check.max_share}
        total = float(values.sum()) if len(values) else 0.0
        if len(values) < check.minimum_items or total <= 0:
            result.not_applicable = 1
            result.meta["reason"] = f"fewer than {check.minimum_items} positive values"
            return result
        top_count = max(1, int(np.ceil(len(values) * check.top_fraction)))
        top = np.sort(values)[::-1][:top_count]
        share = float(top.sum()) / total
        result.score = round(100.0 * share, 2)
        result.meta.update({"top_items": top_count, "top_share": round(share, 4), "total": total})
        examples = [{"item": item, "value": short(value)} for value, item in self.largest[:top_count]]
        if share <= check.max_share:
            result.passed = 1
            result.examples = {Outcome.PASSED: examples}
        else:
            result.failed = 1
            result.examples = {Outcome.FAILED: examples}
        return result
