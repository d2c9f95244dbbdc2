"""Running a set of checks over a dataset streamed in batches (report building is elsewhere)."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from platform_assets.lib.quality.batch import Batch
from platform_assets.lib.quality.check import Check, Evaluator, is_item_evaluator, update_item_checks
from platform_assets.lib.quality.result import CheckResult

# Young-generation threshold while checks run. A batch of JSON items lives (with what the checks
# derive from it) for the whole batch, so with the default (700) it is promoted to the oldest
# generation and then every batch sets off a full collection that walks every live object: on OCDS
# batches of 2,000 compiled releases that was about 40% of the run. Objects freed by reference
# counting, nearly all of them here, are freed at once whatever the threshold; only cyclic garbage
# waits longer.
YOUNG_THRESHOLD = 100_000


@contextmanager
def fewer_collections(young: int = YOUNG_THRESHOLD) -> Iterator[None]:
    """Raise the garbage collector's thresholds for the block, then restore them."""
    saved = gc.get_threshold()
    gc.set_threshold(max(young, saved[0]), max(20, saved[1]), max(100, saved[2]))
    try:
        yield
    finally:
        gc.set_threshold(*saved)


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
    with fewer_collections():
        if previous is not None:
            for batch in previous:
                for evaluator in evaluators:
                    evaluator.update_previous(batch)
        # Item checks run together, item by item (see update_item_checks); the others batch by batch.
        item_evaluators = [evaluator for evaluator in evaluators if is_item_evaluator(evaluator)]
        others: list[Evaluator] = [evaluator for evaluator in evaluators if not is_item_evaluator(evaluator)]
        for batch in batches:
            for evaluator in others:
                evaluator.update(batch)
            if item_evaluators:
                update_item_checks(item_evaluators, batch)  # type: ignore[arg-type]
        return [evaluator.finish(has_previous) for evaluator in evaluators]
