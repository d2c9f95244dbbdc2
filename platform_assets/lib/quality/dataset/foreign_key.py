"""Dataset-level referential integrity: every value of a field is a key of another table or
dataset (GTFS stop_times.stop_id -> stops.stop_id, trips.route_id -> routes.route_id, ...).
Vectorised with Series.isin; the keys are a set given up front (they fit in memory)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from platform_assets.lib.quality.batch import Batch
from platform_assets.lib.quality.check import Check, Evaluator, score_of, short
from platform_assets.lib.quality.result import FAILED, NOT_APPLICABLE, PASSED, CheckResult, Level
from platform_assets.lib.quality.tally import Tally


@dataclass(frozen=True)
class ForeignKey(Check):
    """Occurrences whose value is in `keys` pass, others fail; empty values are not applicable."""

    path: str = ""
    keys: frozenset[str] = field(default_factory=frozenset)
    target: str = ""

    def evaluator(self, seed: int = 0) -> Evaluator:
        return _ForeignKeyEvaluator(self, Tally(self.name, seed))


class _ForeignKeyEvaluator(Evaluator):
    def __init__(self, check: ForeignKey, tally: Tally) -> None:
        self.check = check
        self.tally = tally

    def update(self, batch: Batch) -> None:
        occurrences = batch.field(self.check.path)
        if not occurrences.values:
            return
        empty = occurrences.empty()
        values = pd.Series(occurrences.values, dtype=object).map(lambda v: None if isinstance(v, dict | list) else str(v))
        known = values.isin(self.check.keys).to_numpy(bool)
        outcomes = np.where(known, PASSED, FAILED).astype(np.int8)
        outcomes[empty] = NOT_APPLICABLE
        owners = occurrences.owners
        self.tally.add(
            outcomes,
            lambda i: {"item": batch.item_id(int(owners[i])), "path": self.check.path, "value": short(occurrences.values[i])},
        )

    def finish(self, has_previous: bool) -> CheckResult:
        check = self.check
        result = self.tally.result(check.name, check.level, check.description, threshold=check.threshold)
        result.meta = {"path": check.path, "target": check.target, "keys": len(check.keys)}
        return score_of(result)


def foreign_key(path: str, keys: Iterable[object], target: str, name: str | None = None, threshold: float = 1.0) -> ForeignKey:
    return ForeignKey(
        name=name or f"{path}.foreign_key",
        level=Level.DATASET,
        description=f"every {path} is a {target}",
        threshold=threshold,
        path=path,
        keys=frozenset(str(key) for key in keys),
        target=target,
    )
