"""Counting outcomes and keeping sampled examples, one batch at a time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from platform_assets.lib.quality.result import (
    FAILED,
    NOT_APPLICABLE,
    PASSED,
    CheckResult,
    Level,
    Outcome,
)
from platform_assets.lib.quality.sampling import Reservoir, seed_for

ExampleAt = Callable[[int], dict[str, Any]]


class Tally:
    """Pass / fail / not-applicable counts plus a seeded reservoir of examples per outcome."""

    def __init__(self, name: str, seed: int = 0) -> None:
        base = seed_for(name, seed)
        self.reservoirs = {
            Outcome.PASSED: Reservoir(base + 1),
            Outcome.FAILED: Reservoir(base + 2),
            Outcome.NOT_APPLICABLE: Reservoir(base + 3),
        }

    def add(self, outcomes: np.ndarray, example_at: ExampleAt) -> None:
        """`outcomes[i]` is PASSED/FAILED/NOT_APPLICABLE; `example_at(i)` describes element i."""
        outcomes = np.asarray(outcomes, dtype=np.int8)
        for outcome, code in ((Outcome.PASSED, PASSED), (Outcome.FAILED, FAILED), (Outcome.NOT_APPLICABLE, NOT_APPLICABLE)):
            where = np.flatnonzero(outcomes == code)
            if len(where):
                self.reservoirs[outcome].offer(len(where), lambda i, where=where: example_at(int(where[i])))

    def add_one(self, outcome: Outcome, example: dict[str, Any] | None = None) -> None:
        self.reservoirs[outcome].offer(1, lambda _i: example or {})

    def count(self, outcome: Outcome) -> int:
        return self.reservoirs[outcome].seen

    def result(self, name: str, level: Level, description: str = "", **extra: Any) -> CheckResult:
        return CheckResult(
            name=name,
            level=level,
            description=description,
            passed=self.count(Outcome.PASSED),
            failed=self.count(Outcome.FAILED),
            not_applicable=self.count(Outcome.NOT_APPLICABLE),
            examples={outcome: list(reservoir.items) for outcome, reservoir in self.reservoirs.items() if reservoir.items},
            **extra,
        )
