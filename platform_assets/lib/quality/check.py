"""What a check is: a named spec that makes a fresh evaluator per run.

An evaluator sees the dataset batch by batch (`update`), time-based ones first see the previous
dataset (`update_previous`), and `finish` returns the CheckResult. Field and item checks are
generic here; the other generic checks live in `quality/field`, `item`, `dataset`, `time_based`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from platform_assets.lib.deferred import np, pd
from platform_assets.lib.quality.batch import MISSING, Batch, ItemBatch
from platform_assets.lib.quality.result import FAILED, NOT_APPLICABLE, PASSED, CheckResult, Level
from platform_assets.lib.quality.tally import Tally

MAX_EXAMPLE_TEXT = 200


def short(value: Any) -> Any:
    """A value small enough for an example (long text and big objects are cut)."""
    if value is MISSING:
        return None
    if isinstance(value, str):
        return value if len(value) <= MAX_EXAMPLE_TEXT else value[:MAX_EXAMPLE_TEXT] + "…"
    if isinstance(value, dict | list):
        text = repr(value)
        return value if len(text) <= MAX_EXAMPLE_TEXT else text[:MAX_EXAMPLE_TEXT] + "…"
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


class Evaluator(ABC):
    def update_previous(self, batch: Batch) -> None:
        """Time-based checks read the previous dataset here (before any `update`)."""
        return None

    @abstractmethod
    def update(self, batch: Batch) -> None: ...

    @abstractmethod
    def finish(self, has_previous: bool) -> CheckResult: ...


@dataclass(frozen=True)
class Check(ABC):
    name: str
    level: Level
    description: str = ""
    threshold: float = 1.0

    @abstractmethod
    def evaluator(self, seed: int = 0) -> Evaluator: ...


def score_of(result: CheckResult) -> CheckResult:
    share = result.share
    result.score = None if share is None else round(100.0 * share, 2)
    return result


# -- field-level -------------------------------------------------------------------------------
ValueTest = Callable[["pd.Series"], "np.ndarray"]


@dataclass(frozen=True)
class FieldCheck(Check):
    """`kind` exists / non_empty (coverage) or quality (`test` on each non-empty value, vectorised).
    With `parent_must_be_object`, a coverage check fails where the parent is there but is not an
    object (Pelican: "parent is a str, not an object") instead of leaving it out."""

    path: str = ""
    kind: str = "quality"
    test: ValueTest | None = None
    parent_must_be_object: bool = False

    def evaluator(self, seed: int = 0) -> Evaluator:
        return _FieldEvaluator(self, Tally(self.name, seed))


class _FieldEvaluator(Evaluator):
    def __init__(self, check: FieldCheck, tally: Tally) -> None:
        self.check = check
        self.tally = tally

    def update(self, batch: Batch) -> None:
        check = self.check
        occurrences = batch.field(check.path)
        orphans = occurrences.orphans
        strict = check.parent_must_be_object and check.kind in ("exists", "non_empty")
        if strict and len(occurrences.misfit_owners) and len(orphans):
            orphans = orphans[~np.isin(orphans, occurrences.misfit_owners)]  # they fail below instead
        if len(orphans):
            self.tally.add(
                np.full(len(orphans), NOT_APPLICABLE, dtype=np.int8),
                lambda i: {"item": batch.item_id(int(orphans[i])), "path": check.path, "reason": "no parent object"},
            )
        misfits = occurrences.misfit_owners
        if strict and len(misfits):
            misfit_values = occurrences.misfit_values
            self.tally.add(
                np.full(len(misfits), FAILED, dtype=np.int8),
                lambda i: {
                    "item": batch.item_id(int(misfits[i])), "path": check.path, "value": short(misfit_values[i]),
                    "reason": f"parent is a {type(misfit_values[i]).__name__}, not an object",
                },
            )
        values = occurrences.values
        if not values:
            return
        if check.kind == "exists":
            outcomes = np.where(occurrences.present(), PASSED, FAILED).astype(np.int8)
        else:
            empty = occurrences.empty()
            if check.kind == "non_empty":
                outcomes = np.where(empty, FAILED, PASSED).astype(np.int8)
                outcomes[~occurrences.present()] = NOT_APPLICABLE
            else:
                outcomes = np.full(len(values), NOT_APPLICABLE, dtype=np.int8)
                filled = np.flatnonzero(~empty)
                if len(filled) and check.test is not None:
                    series = pd.Series([values[i] for i in filled], dtype=object)
                    good = np.asarray(check.test(series), dtype=bool)
                    outcomes[filled] = np.where(good, PASSED, FAILED)
        owners = occurrences.owners
        self.tally.add(
            outcomes,
            lambda i: {"item": batch.item_id(int(owners[i])), "path": check.path, "value": short(values[i])},
        )

    def finish(self, has_previous: bool) -> CheckResult:
        check = self.check
        result = self.tally.result(check.name, check.level, check.description, threshold=check.threshold)
        result.meta["path"] = check.path
        return score_of(result)


# -- item-level --------------------------------------------------------------------------------
ItemOutcome = tuple[int, dict[str, Any] | None]
ItemTest = Callable[[dict[str, Any]], ItemOutcome]


@dataclass(frozen=True)
class ItemCheck(Check):
    """`test(item)` returns (PASSED | FAILED | NOT_APPLICABLE, details for the example or None)."""

    test: ItemTest | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def evaluator(self, seed: int = 0) -> Evaluator:
        return _ItemEvaluator(self, Tally(self.name, seed))


class _ItemEvaluator(Evaluator):
    def __init__(self, check: ItemCheck, tally: Tally) -> None:
        self.check = check
        self.tally = tally

    def update(self, batch: Batch) -> None:
        update_item_checks([self], batch)

    def add(self, batch: ItemBatch, codes: Sequence[int], details: Sequence[dict[str, Any] | None]) -> None:
        self.tally.add(np.asarray(codes, dtype=np.int8), lambda i: {"item": batch.item_id(i), **(details[i] or {})})

    def finish(self, has_previous: bool) -> CheckResult:
        check = self.check
        result = self.tally.result(check.name, check.level, check.description, threshold=check.threshold)
        result.meta.update(check.meta)
        return score_of(result)


def update_item_checks(evaluators: list[_ItemEvaluator], batch: Batch) -> None:
    """Several item checks over one batch, item by item: every check reads an item while it is
    fresh (whatever they derive from it, e.g. located paths, is reused and then dropped) instead of
    the whole batch once per check. Each check sees the same items in the same order either way."""
    assert isinstance(batch, ItemBatch), f"{evaluators[0].check.name if evaluators else 'item checks'} read JSON items"
    tests: list[ItemTest] = []
    for evaluator in evaluators:
        assert evaluator.check.test is not None
        tests.append(evaluator.check.test)
    # One row of outcomes per item, then transposed to one column per check (zip does it in C):
    # cheaper than appending each outcome to its check's lists.
    rows = [[test(item) for test in tests] for item in batch.items]
    if not rows:
        return
    for evaluator, column in zip(evaluators, zip(*rows, strict=True), strict=True):
        codes, details = zip(*column, strict=True)
        evaluator.add(batch, codes, details)


def is_item_evaluator(evaluator: Evaluator) -> bool:
    return isinstance(evaluator, _ItemEvaluator)
