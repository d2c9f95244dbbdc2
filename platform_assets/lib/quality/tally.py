"""Counting outcomes and keeping sampled examples, one batch at a time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from platform_assets.lib.deferred import np
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


def _never(_index: int) -> dict[str, Any]:
    raise AssertionError("a reservoir asked for an example it said it would not keep")


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

    def add_mask(self, failed: np.ndarray, example_at: ExampleAt) -> None:
        """`failed[i]` is True where element i fails, else it passes: the same as `add`, but the
        positions of an outcome are only listed when its reservoir keeps one of them (a mask of
        millions of passing rows costs a count)."""
        failing = int(np.count_nonzero(failed))
        for outcome, count, wanted in ((Outcome.FAILED, failing, True), (Outcome.PASSED, len(failed) - failing, False)):
            reservoir = self.reservoirs[outcome]
            if not count:
                continue
            if reservoir.keeps_any(count):
                where = np.flatnonzero(failed == wanted)
                reservoir.offer(count, lambda i, where=where: example_at(int(where[i])))
            else:
                reservoir.offer(count, _never)

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
