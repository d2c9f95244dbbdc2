"""The framework on small hand-made data: every level, the result shape, sampling and batching."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from platform_assets.lib.quality.batch import FrameBatch, ItemBatch, batched, frame_batches
from platform_assets.lib.quality.dataset.distribution import CodeDistribution
from platform_assets.lib.quality.dataset.repetition import Repetition
from platform_assets.lib.quality.dataset.uniqueness import uniqueness
from platform_assets.lib.quality.field.codelist import in_codelist
from platform_assets.lib.quality.field.exists import exists
from platform_assets.lib.quality.field.format import EMAIL, matches
from platform_assets.lib.quality.field.non_empty import non_empty
from platform_assets.lib.quality.field.range import date_range, number_range
from platform_assets.lib.quality.field.type import of_type
from platform_assets.lib.quality.item.references import references
from platform_assets.lib.quality.result import CheckResult, Level, Outcome
from platform_assets.lib.quality.runner import run_checks
from platform_assets.lib.quality.sampling import Reservoir
from platform_assets.lib.quality.time_based.persistence import persistence
from platform_assets.lib.quality.time_based.stability import stability

# Five items. By hand, for `contact.email`:
#   a: contact present, email valid             -> exists pass, non_empty pass, format pass
#   b: contact present, email "not-an-email"    -> exists pass, non_empty pass, format fail
#   c: contact present, email ""                -> exists pass, non_empty fail, format n/a
#   d: contact present without an email key     -> exists fail, non_empty n/a,  format n/a
#   e: no contact at all (no parent object)     -> n/a for all three
ITEMS: list[dict[str, Any]] = [
    {"id": "a", "contact": {"email": "x@example.com"}, "amount": 10, "code": "open", "when": "2020-01-01T00:00:00Z", "refs": ["p1"], "parties": [{"id": "p1"}]},
    {"id": "b", "contact": {"email": "not-an-email"}, "amount": -1, "code": "open", "when": "1980-01-01", "refs": ["p9"], "parties": [{"id": "p1"}]},
    {"id": "c", "contact": {"email": ""}, "amount": "12", "code": "weird", "when": "not a date"},
    {"id": "d", "contact": {}, "amount": 3.5, "code": "direct", "when": "2060-05-05"},
    {"id": "e", "amount": True, "code": "open"},
]


def run(checks: list[Any], items: list[dict[str, Any]] = ITEMS, size: int = 2, previous: list[dict[str, Any]] | None = None) -> dict[str, CheckResult]:
    results = run_checks(checks, batched(items, size, "id"), batched(previous, size, "id") if previous is not None else None)
    return {result.name: result for result in results}


def counts(result: CheckResult) -> tuple[int, int, int]:
    return result.passed, result.failed, result.not_applicable


def test_field_coverage_and_format_by_hand() -> None:
    results = run([exists("contact.email"), non_empty("contact.email"), matches("contact.email", EMAIL)])
    assert counts(results["contact.email.exists"]) == (3, 1, 1)
    assert counts(results["contact.email.non_empty"]) == (2, 1, 2)
    fmt = results["contact.email.format"]
    assert counts(fmt) == (1, 1, 3)
    assert fmt.examples[Outcome.FAILED] == [{"item": "b", "path": "contact.email", "value": "not-an-email"}]
    assert fmt.share == 0.5 and fmt.score == 50.0 and not fmt.ok and fmt.outcome == Outcome.FAILED


def test_type_range_codelist_by_hand() -> None:
    results = run([
        of_type("amount", "number"),
        number_range("amount", minimum=0),
        in_codelist("code", ["open", "direct"]),
        date_range("when"),
    ])
    # amount: 10 ok, -1 number but negative, "12" text, 3.5 ok, True is a boolean, never a number.
    assert counts(results["amount.type"]) == (3, 2, 0)
    assert counts(results["amount.range"]) == (2, 3, 0)
    assert counts(results["code.codelist"]) == (4, 1, 0)
    # when: 2020 ok; 1980 before 1990; text; 2060 after 2050; item e has no `when` (n/a).
    assert counts(results["when.date_range"]) == (1, 3, 1)


def test_references_inside_one_item() -> None:
    result = run([references("refs", "refs", "parties.id")])["refs"]
    # a: p1 is a party; b: p9 is not; c, d, e have no refs.
    assert counts(result) == (1, 1, 3)
    assert result.examples[Outcome.FAILED][0] == {"item": "b", "missing": ["p9"], "references": 1}


def test_dataset_level_checks() -> None:
    items = [{"id": str(i), "tender": {"id": f"t{i % 4}"}, "buyer": "b1" if i < 6 else "b2", "status": "active" if i < 9 else "complete"} for i in range(10)]
    results = run(
        [
            uniqueness("tender.id"),
            Repetition(name="buyer", level=Level.DATASET, key_of=lambda item: item["buyer"], top=1, max_share=0.5, minimum_items=5),
            CodeDistribution(name="status", level=Level.DATASET, path="status", bounds={"active": (0.0, 0.8), "complete": (0.0, 0.8)}),
        ],
        items,
        size=3,
    )
    # tender ids t0..t3 repeat (10 items over 4 ids): none unique, every item fails.
    unique = results["tender.id.unique"]
    assert counts(unique) == (0, 10, 0)
    assert {example["value"] for example in unique.examples[Outcome.FAILED]} == {"t0", "t1", "t2", "t3"}
    # b1 holds 6 of 10 items: 60% > 50%.
    buyer = results["buyer"]
    assert counts(buyer) == (0, 1, 0) and buyer.score == 40.0
    # active is 90% (> 80%), complete 10%.
    status = results["status"]
    assert counts(status) == (1, 1, 0) and status.meta["shares"] == {"active": 0.9, "complete": 0.1}


def test_time_based_persistence_threshold() -> None:
    previous = [{"id": str(i), "title": f"t{i}"} for i in range(20)]
    current = [{"id": str(i), "title": f"t{i}" if i != 3 else "changed"} for i in range(1, 20)] + [{"id": "new"}]
    results = run([persistence("id"), stability("title", lambda i: i["id"], lambda i: i.get("title"))], current, 7, previous)
    # 19 of 20 previous ids remain: 95% reaches the default 95% threshold.
    kept = results["id.persistence"]
    assert counts(kept) == (19, 1, 0) and kept.ok and kept.threshold == 0.95
    assert kept.examples[Outcome.FAILED] == [{"item": "0", "path": "id", "status": "gone"}]
    # 19 items existed before; item 3's title changed: 18/19 = 94.7% < 95%; the new item is n/a.
    title = results["title"]
    assert counts(title) == (18, 1, 1) and not title.ok
    without = run([persistence("id")], current, 7)["id.persistence"]
    assert counts(without) == (0, 0, 20) and without.outcome == Outcome.NOT_APPLICABLE


def test_batch_size_does_not_change_results() -> None:
    checks = [exists("contact.email"), number_range("amount", minimum=0), uniqueness("code")]
    one = run(checks, size=1)
    many = run(checks, size=100)
    assert {name: r.to_dict() for name, r in one.items()} == {name: r.to_dict() for name, r in many.items()}


def test_reservoir_is_seeded_bounded_and_uniform() -> None:
    def sample(seed: int, chunk: int = 997) -> list[int]:
        reservoir = Reservoir(seed)
        for start in range(0, 10_000, chunk):
            count = min(chunk, 10_000 - start)
            reservoir.offer(count, lambda i, start=start: start + i)
        return reservoir.items

    first = sample(1)
    assert len(first) == 20 and first == sample(1) and first != sample(2)
    # The random stream is drawn element by element, so the batch size never changes the sample.
    assert sample(1, chunk=1) == first == sample(1, chunk=10_000)
    assert len(set(first)) == 20
    # Uniform: over many seeds, every decile of the stream gets about a tenth of the picks.
    picks = np.concatenate([sample(seed) for seed in range(200)])
    deciles = np.bincount(picks // 1000, minlength=10) / len(picks)
    assert np.all(np.abs(deciles - 0.1) < 0.02)


def test_frame_batches_use_the_same_field_checks() -> None:
    frame = pd.DataFrame({"stop_id": ["s1", "s2", "s2", None], "stop_lat": [10.0, 95.0, -5.0, None]})
    checks = [non_empty("stop_id"), number_range("stop_lat", -90, 90), uniqueness("stop_id"), exists("stop_code")]
    results = {r.name: r for r in run_checks(checks, frame_batches(frame, 3, "stop_id", "stops"))}
    assert counts(results["stop_id.non_empty"]) == (3, 1, 0)
    assert counts(results["stop_lat.range"]) == (2, 1, 1)
    assert counts(results["stop_id.unique"]) == (1, 2, 1)
    assert counts(results["stop_code.exists"]) == (0, 4, 0)
    assert isinstance(next(frame_batches(frame, 3)), FrameBatch)


def test_result_shape_round_trips_and_names_are_unique() -> None:
    result = run([exists("contact.email")])["contact.email.exists"]
    assert CheckResult.from_dict(result.to_dict()).to_dict() == result.to_dict()
    with pytest.raises(ValueError, match="unique"):
        run_checks([exists("a"), exists("a")], [ItemBatch([{}], ["x"])])
