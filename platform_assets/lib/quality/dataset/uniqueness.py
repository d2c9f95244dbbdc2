"""Dataset-level uniqueness: no two items share a value of the field (e.g. tender.id, stop_id)."""

from __future__ import annotations

from dataclasses import dataclass

from platform_assets.lib.deferred import np
from platform_assets.lib.quality.batch import Batch, is_empty
from platform_assets.lib.quality.check import Check, Evaluator, score_of
from platform_assets.lib.quality.result import FAILED, NOT_APPLICABLE, PASSED, CheckResult, Level
from platform_assets.lib.quality.tally import Tally


@dataclass(frozen=True)
class Uniqueness(Check):
    """Items whose value appears once pass; every item sharing a value with another fails."""

    path: str = ""

    def evaluator(self, seed: int = 0) -> Evaluator:
        return _UniquenessEvaluator(self, seed)


class _UniquenessEvaluator(Evaluator):
    def __init__(self, check: Uniqueness, seed: int) -> None:
        self.check = check
        self.seed = seed
        # value -> count and the first few items holding it: memory grows with distinct values only.
        self.counts: dict[str, int] = {}
        self.holders: dict[str, list[str]] = {}
        self.missing = 0

    def update(self, batch: Batch) -> None:
        occurrences = batch.field(self.check.path)
        self.missing += len(occurrences.orphans)
        for owner, value in zip(occurrences.owners, occurrences.values, strict=True):
            if is_empty(value):
                self.missing += 1
                continue
            key = str(value)
            count = self.counts.get(key, 0)
            self.counts[key] = count + 1
            if count < 3:
                self.holders.setdefault(key, []).append(batch.item_id(int(owner)))

    def finish(self, has_previous: bool) -> CheckResult:
        check = self.check
        tally = Tally(check.name, self.seed)
        values = sorted(self.counts)  # sorted: examples do not depend on dict order
        counts = np.fromiter((self.counts[v] for v in values), dtype=np.int64, count=len(values))
        unique = np.flatnonzero(counts == 1)
        duplicated = np.flatnonzero(counts > 1)
        tally.add(np.full(len(unique), PASSED, np.int8), lambda i: {"item": self.holders[values[unique[i]]][0], "value": values[unique[i]]})
        # One example per duplicated value (it names the items sharing it), counted once per item.
        tally.add(
            np.full(len(duplicated), FAILED, np.int8),
            lambda i: {"value": values[duplicated[i]], "items": int(counts[duplicated[i]]), "item": ", ".join(self.holders[values[duplicated[i]]])},
        )
        tally.add(np.full(self.missing, NOT_APPLICABLE, np.int8), lambda i: {"reason": f"no {check.path}"})
        result = tally.result(check.name, check.level, check.description, threshold=check.threshold)
        result.failed = int(counts[duplicated].sum())
        result.meta = {"path": check.path, "distinct": len(values), "duplicated_values": len(duplicated)}
        return score_of(result)


def uniqueness(path: str, name: str | None = None, threshold: float = 1.0) -> Uniqueness:
    return Uniqueness(name=name or f"{path}.unique", level=Level.DATASET, description=f"{path} is unique across items", threshold=threshold, path=path)
