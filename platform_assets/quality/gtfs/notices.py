"""The GTFS rules, named by the MobilityData gtfs-validator notice they implement.

Every rule module declares its rules with `rule(...)`; `RULES` is the registry (code -> Rule),
in declaration order. A rule's result is one framework CheckResult named by its notice code:
`failed` counts the notices (the rows or entities breaking it), `passed` the rows it looked at
that are fine, and `meta` carries its severity (ERROR / WARNING / INFO, as MobilityData's) and
its rule group. `data/mobilitydata_notices.csv` lists every notice of the reference validator
(code, severity, source file in MobilityData/gtfs-validator at commit
03717cb37b616ec589d4edcecf90709b24a1cd28), so the README can say which are not covered.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from platform_assets.lib.deferred import np
from platform_assets.lib.quality.check import score_of
from platform_assets.lib.quality.result import PASSED, CheckResult, Level, Outcome
from platform_assets.lib.quality.tally import Tally

ERROR, WARNING, INFO = "ERROR", "WARNING", "INFO"


@dataclass(frozen=True)
class Rule:
    """One MobilityData notice this project checks: its code, severity, group and what it means."""

    code: str
    severity: str
    group: str
    description: str
    level: Level = Level.FIELD


RULES: dict[str, Rule] = {}


def rule(code: str, severity: str, group: str, description: str, level: Level = Level.FIELD) -> str:
    """Declare a rule (once per code); returns the code, for the module that implements it."""
    if code in RULES:
        raise ValueError(f"GTFS rule {code} declared twice")
    RULES[code] = Rule(code, severity, group, description, level)
    return code


@lru_cache(maxsize=1)
def mobilitydata_notices() -> dict[str, tuple[str, str]]:
    """Every notice of MobilityData's gtfs-validator: code -> (severity, source file)."""
    text = resources.files("platform_assets.quality.gtfs").joinpath("data/mobilitydata_notices.csv").read_text(encoding="utf-8")
    return {row["code"]: (row["severity"], row["source"]) for row in csv.DictReader(text.splitlines())}


class Findings:
    """One Tally per notice code, fed by every rule module while the feed is scanned."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.tallies: dict[str, Tally] = {}
        self.merged: dict[str, list[CheckResult]] = {}

    def tally(self, code: str) -> Tally:
        if code not in RULES:
            raise KeyError(f"undeclared GTFS rule {code}")
        if code not in self.tallies:
            self.tallies[code] = Tally(code, self.seed)
        return self.tallies[code]

    def add(self, code: str, bad: np.ndarray, example_at: Callable[[int], dict[str, Any]]) -> None:
        """`bad[i]` is True where element i breaks the rule (the others pass)."""
        bad = np.asarray(bad, dtype=bool)
        if len(bad):
            self.tally(code).add_mask(bad, example_at)

    def fail(self, code: str, example: dict[str, Any]) -> None:
        self.tally(code).add_one(Outcome.FAILED, example)

    def passed(self, code: str, count: int = 1) -> None:
        if count:
            self.tally(code).add(np.full(count, PASSED, dtype=np.int8), lambda _i: {})

    def merge(self, code: str, result: CheckResult) -> None:
        """A result computed elsewhere (a pandera column check) counted under `code`."""
        self.merged.setdefault(code, []).append(result)

    def results(self) -> list[CheckResult]:
        results = []
        for code, declared in RULES.items():
            result = self.tallies[code].result(code, declared.level, declared.description) if code in self.tallies else \
                CheckResult(code, declared.level, declared.description)
            for other in self.merged.get(code, []):
                result.passed += other.passed
                result.failed += other.failed
                result.not_applicable += other.not_applicable
                for outcome, examples in other.examples.items():
                    kept = result.examples.setdefault(outcome, [])
                    kept.extend(examples[: max(0, 20 - len(kept))])
            result.meta.update({"severity": declared.severity, "group": declared.group})
            results.append(score_of(result))
        return results


def rules_markdown() -> str:
    """The README's GTFS rule table: every rule covered, then every MobilityData notice not covered."""
    reference = mobilitydata_notices()
    errors = [code for code, (severity, _source) in reference.items() if severity == ERROR]
    covered_errors = [code for code in errors if code in RULES]
    lines = [f"Covered: {len(RULES)} MobilityData notices, {len(covered_errors)} of its {len(errors)} ERROR notices.", "",
             "| notice | severity | group | rule |", "|---|---|---|---|"]
    # By group and code: the declaration order depends on which rule module is imported first.
    lines += [f"| `{r.code}` | {r.severity} | {r.group} | {r.description} |" for r in sorted(RULES.values(), key=lambda r: (r.group, r.code))]
    missing = [(code, severity) for code, (severity, _source) in sorted(reference.items()) if code not in RULES]
    lines += ["", f"Not covered ({len(missing)}): " + ", ".join(f"`{code}` ({severity})" for code, severity in missing) + "."]
    return "\n".join(lines) + "\n"
