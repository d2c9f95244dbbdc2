"""The one result shape every check returns (Pelican style): counts, score, sampled examples."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Level(StrEnum):
    """Where a check looks: one field, one item, the whole dataset, or the dataset against its past."""

    FIELD = "field"
    ITEM = "item"
    DATASET = "dataset"
    TIME = "time"


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_APPLICABLE = "not_applicable"


# Outcome codes in vectorised outcome arrays (int8): cheap to count with numpy.
PASSED, FAILED, NOT_APPLICABLE = 1, 0, -1
CODE_OF = {Outcome.PASSED: PASSED, Outcome.FAILED: FAILED, Outcome.NOT_APPLICABLE: NOT_APPLICABLE}

MAX_EXAMPLES = 20


@dataclass
class CheckResult:
    """What one check found over one dataset.

    `share` is passed / (passed + failed); the check is `ok` when that share reaches `threshold`
    (1.0 means every applicable occurrence must pass; time-based checks default to 0.95).
    `score` is 0-100 where a single figure fits (a distribution, a share), else None.
    """

    name: str
    level: Level
    description: str = ""
    passed: int = 0
    failed: int = 0
    not_applicable: int = 0
    score: float | None = None
    threshold: float = 1.0
    examples: dict[Outcome, list[dict[str, Any]]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def applicable(self) -> int:
        return self.passed + self.failed

    @property
    def share(self) -> float | None:
        return self.passed / self.applicable if self.applicable else None

    @property
    def ok(self) -> bool:
        """Passes when nothing applied, or when the passing share reaches the threshold."""
        share = self.share
        return share is None or share >= self.threshold - 1e-12

    @property
    def outcome(self) -> Outcome:
        if not self.applicable:
            return Outcome.NOT_APPLICABLE
        return Outcome.PASSED if self.ok else Outcome.FAILED

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "level": str(self.level),
            "description": self.description,
            "passed": self.passed,
            "failed": self.failed,
            "not_applicable": self.not_applicable,
            "share": self.share,
            "score": self.score,
            "threshold": self.threshold,
            "ok": self.ok,
            "examples": {str(outcome): list(items) for outcome, items in self.examples.items()},
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        return cls(
            name=data["name"],
            level=Level(data["level"]),
            description=data.get("description", ""),
            passed=int(data["passed"]),
            failed=int(data["failed"]),
            not_applicable=int(data["not_applicable"]),
            score=data.get("score"),
            threshold=float(data.get("threshold", 1.0)),
            examples={Outcome(key): list(value) for key, value in (data.get("examples") or {}).items()},
            meta=dict(data.get("meta") or {}),
        )
