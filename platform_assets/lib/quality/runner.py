"""Running a set of checks over a dataset streamed in batches (report building is elsewhere)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from platform_assets.lib.quality.batch import Batch
from platform_assets.lib.quality.check import Check
from platform_assets.lib.quality.result import CheckResult


def run_checks(
    checks: Sequence[Check],
    batches: Iterable[Batch],
    previous: Iterable[Batch] | None = None,
    seed: int = 0,
) -> list[CheckResult]:
    """Evaluate every check in one pass over `batches` (and one over `previous`, if given).

    Only one batch is held at a time; evaluators keep counts, reservoirs and whatever small state
    their level needs (keys for uniqueness and time-based checks, one float per value).
    """
    names = [check.name for check in checks]
    if len(set(names)) != len(names):
        duplicates = sorted({name for name in names if names.count(name) > 1})
        raise ValueError(f"check names must be unique: {', '.join(duplicates)}")
    evaluators = [check.evaluator(seed) for check in checks]
    has_previous = previous is not None
    if previous is not None:
        for batch in previous:
            for evaluator in evaluators:
                evaluator.update_previous(batch)
    for batch in batches:
        for evaluator in evaluators:
            evaluator.update(batch)
    return [evaluator.finish(has_previous) for evaluator in evaluators]
