"""Time-based persistence: the keys of the previous dataset are still there (ocids, stop ids...)."""

from __future__ import annotations

from dataclasses import dataclass

from platform_assets.lib.deferred import np
from platform_assets.lib.quality.batch import Batch, is_empty
from platform_assets.lib.quality.check import Check, Evaluator, score_of
from platform_assets.lib.quality.result import FAILED, PASSED, CheckResult, Level
from platform_assets.lib.quality.tally import Tally

DEFAULT_SHARE = 0.95


def keys_in(batch: Batch, path: str) -> list[tuple[str, int]]:
    occurrences = batch.field(path)
    return [(str(value), int(owner)) for owner, value in zip(occurrences.owners, occurrences.values, strict=True) if not is_empty(value)]


@dataclass(frozen=True)
class Persistence(Check):
    """Each key of the previous dataset passes when the current dataset still has it; the check
    is ok above `threshold` (default 95%). Without a previous dataset everything is not applicable."""

    path: str = ""

    def evaluator(self, seed: int = 0) -> Evaluator:
        return _PersistenceEvaluator(self, seed)


class _PersistenceEvaluator(Evaluator):
    def __init__(self, check: Persistence, seed: int) -> None:
        self.check = check
        self.seed = seed
        self.previous: set[str] = set()
        self.current: set[str] = set()
        self.current_items = 0

    def update_previous(self, batch: Batch) -> None:
        self.previous.update(key for key, _ in keys_in(batch, self.check.path))

    def update(self, batch: Batch) -> None:
        self.current_items += len(batch)
        if self.previous:
            self.current.update(key for key, _ in keys_in(batch, self.check.path) if key in self.previous)

    def finish(self, has_previous: bool) -> CheckResult:
        check = self.check
        tally = Tally(check.name, self.seed)
        if not has_previous:
            result = tally.result(check.name, check.level, check.description, threshold=check.threshold)
            result.not_applicable = self.current_items
            result.meta = {"reason": "no previous dataset"}
            return result
        keys = sorted(self.previous)
        outcomes = np.fromiter((PASSED if key in self.current else FAILED for key in keys), dtype=np.int8, count=len(keys))
        tally.add(outcomes, lambda i: {"item": keys[i], "path": check.path, "status": "kept" if outcomes[i] == PASSED else "gone"})
        result = tally.result(check.name, check.level, check.description, threshold=check.threshold)
        result.meta = {"path": check.path, "previous_keys": len(keys), "kept": int((outcomes == PASSED).sum())}
        return score_of(result)


def persistence(path: str, name: str | None = None, threshold: float = DEFAULT_SHARE) -> Persistence:
    return Persistence(
        name=name or f"{path}.persistence",
        level=Level.TIME,
        description=f"the previous dataset's {path} values are still present (pass above {threshold:.0%})",
        threshold=threshold,
        path=path,
    )


