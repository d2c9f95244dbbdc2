"""Dagster adapter: framework CheckResults as `AssetCheckResult`s, and specs to declare them.

Any system declares its checks with the framework and surfaces them like this:

    SPECS = check_specs(MY_CHECKS, "my_asset", policy=CheckPolicy(blocking={"my_table.id.unique"}))

    @multi_asset_check(specs=SPECS)
    def my_asset_quality(context, object_store: ObjectStore):
        results = run_checks(MY_CHECKS, batches_of_my_data())
        yield from asset_check_results(results, "my_asset", policy=...)

Blocking checks fail with severity ERROR (and, being blocking, stop downstream assets of the same
run); the others fail with severity WARN.

Many small framework checks (OCDS has ~150) can be grouped into fewer Dagster checks with
`group_of` (framework check -> Dagster check name): a group passes when all its members pass,
its metadata lists every member (worst first) with the worst failing member's examples, and it
fails with ERROR when a failing member is blocking. Each event costs a write to the instance's
event log, so grouping keeps runs quick on SQLite.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
    PartitionsDefinition,
    PreviewWarning,
)

from platform_assets.lib.quality.result import CheckResult, Level, Outcome

if TYPE_CHECKING:  # the framework's checks are listed in runs, not when the specs are built
    from platform_assets.lib.quality.check import Check

MAX_MARKDOWN_EXAMPLES = 20
_NOT_A_NAME = re.compile(r"[^A-Za-z0-9_]+")


def dagster_check_name(name: str) -> str:
    """A Dagster-valid check name (letters, digits, underscores) from a framework check name."""
    cleaned = _NOT_A_NAME.sub("_", name.replace(".", "__")).strip("_")
    return cleaned or "check"


@dataclass(frozen=True)
class CheckPolicy:
    """Which checks block (severity ERROR, blocking spec) and which only warn.

    `blocking` names framework checks (or patterns such as "reference.*"); `default` applies to
    the others ("warn" or "blocking").
    """

    blocking: Collection[str] = field(default_factory=frozenset)
    default: str = "warn"

    def __post_init__(self) -> None:
        if self.default not in ("warn", "blocking"):
            raise ValueError(f"check policy default must be 'warn' or 'blocking', not {self.default!r}")

    def is_blocking(self, name: str) -> bool:
        """`blocking` holds check names or shell-style patterns ("reference.*")."""
        return self.default == "blocking" or any(fnmatchcase(name, pattern) for pattern in self.blocking)

    def blocks_any(self, names: Iterable[str]) -> bool:
        if self.default == "blocking":
            return True
        return bool(self.blocking) and any(self.is_blocking(name) for name in names)

    def severity(self, name: str) -> AssetCheckSeverity:
        return AssetCheckSeverity.ERROR if self.is_blocking(name) else AssetCheckSeverity.WARN


def _asset_key(asset: str | Sequence[str] | AssetKey) -> AssetKey:
    return AssetKey.from_coercible(asset)


GroupOf = Callable[[str, Level], str]


def _groups(named: Iterable[tuple[str, Level, Any]], group_of: GroupOf | None) -> dict[str, list[Any]]:
    groups: dict[str, list[Any]] = {}
    for name, level, thing in named:
        group = dagster_check_name(group_of(name, level) if group_of else name)
        groups.setdefault(group, []).append(thing)
    return groups


def partitioned_check_spec(partitions_def: PartitionsDefinition | None, **spec: Any) -> AssetCheckSpec:
    """An AssetCheckSpec partitioned like its asset: each result is recorded for the run's
    partition, so one failing partition reds only its own checks (Dagster 1.13's partitioned asset
    checks, `AssetCheckSpec(partitions_def=...)`, which must equal the asset's). Dagster marks the
    argument as a preview and warns on every spec; the warning is said once, in the README."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=PreviewWarning)
        return AssetCheckSpec(partitions_def=partitions_def, **spec)


@dataclass(frozen=True)
class CheckGroup:
    """What one Dagster check spec is made of: its framework checks' names and the spec's
    description. Plain data, so a long list of checks can be grouped once and stored."""

    members: tuple[str, ...]
    description: str

    def as_json(self) -> dict[str, Any]:
        return {"members": list(self.members), "description": self.description}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CheckGroup:
        return cls(tuple(data["members"]), data["description"])


def check_groups(checks: Iterable[Check], group_of: GroupOf | None = None) -> dict[str, CheckGroup]:
    """Dagster check name -> its group: one per framework check, or per `group_of` group."""
    checks = list(checks)
    if group_of is None:
        names = [dagster_check_name(check.name) for check in checks]
        counts = Counter(names)  # not names.count(): quadratic over ~1,300 checks
        clash = next((name for name in names if counts[name] > 1), None)
        if clash:
            raise ValueError(f"two checks map to the Dagster check name {clash!r}: rename one")
    groups = {}
    for name, members in _groups(((c.name, c.level, c) for c in checks), group_of).items():
        levels = sorted({str(member.level) for member in members})
        description = (
            f"[{members[0].level}] {members[0].description or members[0].name}"
            if len(members) == 1
            else f"[{', '.join(levels)}] {len(members)} checks: " + ", ".join(m.name for m in members[:8]) + ("…" if len(members) > 8 else "")
        )
        groups[name] = CheckGroup(tuple(member.name for member in members), description)
    return groups


def group_specs(
    groups: Mapping[str, CheckGroup],
    asset: str | Sequence[str] | AssetKey,
    policy: CheckPolicy | None = None,
    partitions_def: PartitionsDefinition | None = None,
) -> list[AssetCheckSpec]:
    """One AssetCheckSpec per group (see `check_groups`); `partitions_def`: the checked asset's,
    so each result belongs to its partition."""
    policy = policy or CheckPolicy()
    key = _asset_key(asset)
    return [
        partitioned_check_spec(
            partitions_def,
            name=name,
            asset=key,
            description=group.description,
            blocking=policy.blocks_any(group.members),
            metadata={"quality/checks": MetadataValue.json(list(group.members))},
        )
        for name, group in groups.items()
    ]


def check_specs(
    checks: Iterable[Check],
    asset: str | Sequence[str] | AssetKey,
    policy: CheckPolicy | None = None,
    group_of: GroupOf | None = None,
    partitions_def: PartitionsDefinition | None = None,
) -> list[AssetCheckSpec]:
    """One AssetCheckSpec per framework check, or per group of them with `group_of`;
    `partitions_def`: the checked asset's, so each result belongs to its partition."""
    return group_specs(check_groups(checks, group_of), asset, policy, partitions_def)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")[:120]


def examples_markdown(result: CheckResult, limit: int = MAX_MARKDOWN_EXAMPLES) -> str:
    """A markdown table of the failed examples first, then the others (one row per example)."""
    rows: list[tuple[str, dict[str, Any]]] = []
    for outcome in (Outcome.FAILED, Outcome.NOT_APPLICABLE, Outcome.PASSED):
        rows += [(str(outcome), example) for example in result.examples.get(outcome, [])]
    rows = rows[:limit]
    if not rows:
        return "_no examples_"
    columns: list[str] = []
    for _outcome, example in rows:
        columns += [key for key in example if key not in columns]
    header = "| outcome | " + " | ".join(columns) + " |\n|---|" + "---|" * len(columns) + "\n"
    body = "\n".join(
        "| " + outcome + " | " + " | ".join(_cell(example.get(column)) for column in columns) + " |"
        for outcome, example in rows
    )
    return header + body


def result_metadata(result: CheckResult) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "level": str(result.level),
        "passed": result.passed,
        "failed": result.failed,
        "not_applicable": result.not_applicable,
        "share": MetadataValue.float(float(result.share)) if result.share is not None else MetadataValue.null(),
        "threshold": MetadataValue.float(float(result.threshold)),
        "examples": MetadataValue.md(examples_markdown(result)),
    }
    if result.score is not None:
        metadata["score"] = MetadataValue.float(float(result.score))
    return metadata


def asset_check_result(
    result: CheckResult, asset: str | Sequence[str] | AssetKey, policy: CheckPolicy | None = None
) -> AssetCheckResult:
    policy = policy or CheckPolicy()
    return AssetCheckResult(
        asset_key=_asset_key(asset),
        check_name=dagster_check_name(result.name),
        passed=result.ok,
        severity=policy.severity(result.name),
        metadata=result_metadata(result),
        description=result.description or None,
    )


def members_markdown(results: Sequence[CheckResult]) -> str:
    from platform_assets.lib.quality.report import worst_first

    lines = ["| check | ok | passed | failed | n/a | share |", "|---|---|---|---|---|---|"]
    for result in worst_first(results):
        share = "" if result.share is None else f"{100 * result.share:.1f}%"
        mark = "❌" if not result.ok else ("✅" if result.applicable else "➖")
        lines.append(f"| {result.name} | {mark} | {result.passed} | {result.failed} | {result.not_applicable} | {share} |")
    return "\n".join(lines)


def group_check_result(
    name: str, results: Sequence[CheckResult], asset: str | Sequence[str] | AssetKey, policy: CheckPolicy | None = None
) -> AssetCheckResult:
    policy = policy or CheckPolicy()
    failing = [result for result in results if not result.ok]
    passed, failed = sum(r.passed for r in results), sum(r.failed for r in results)
    worst = min(failing, key=lambda r: (r.share if r.share is not None else 1.0, -r.failed)) if failing else None
    metadata: dict[str, Any] = {
        "checks": len(results),
        "failing_checks": len(failing),
        "passed": passed,
        "failed": failed,
        "not_applicable": sum(r.not_applicable for r in results),
        "share": MetadataValue.float(passed / (passed + failed)) if passed + failed else MetadataValue.null(),
        "members": MetadataValue.md(members_markdown(results)),
    }
    if worst is not None:
        metadata["worst_check"] = worst.name
        metadata["examples"] = MetadataValue.md(examples_markdown(worst))
    blocking_failure = any(policy.is_blocking(result.name) for result in failing)
    return AssetCheckResult(
        asset_key=_asset_key(asset),
        check_name=name,
        passed=not failing,
        severity=AssetCheckSeverity.ERROR if blocking_failure else AssetCheckSeverity.WARN,
        metadata=metadata,
        description=f"{len(failing)} of {len(results)} checks failing" + (f"; worst: {worst.name}" if worst else ""),
    )


def asset_check_results(
    results: Iterable[CheckResult],
    asset: str | Sequence[str] | AssetKey,
    policy: CheckPolicy | None = None,
    group_of: GroupOf | None = None,
) -> Iterator[AssetCheckResult]:
    """One AssetCheckResult per spec made by `check_specs` with the same `group_of`."""
    if group_of is None:
        for result in results:
            yield asset_check_result(result, asset, policy)
        return
    for name, members in _groups(((r.name, r.level, r) for r in results), group_of).items():
        yield group_check_result(name, members, asset, policy)


def policy_from_mapping(severities: Mapping[str, str], default: str = "warn") -> CheckPolicy:
    """A policy from {"check name": "blocking" | "warn"} (as read from settings or YAML)."""
    bad = {name: value for name, value in severities.items() if value not in ("warn", "blocking")}
    if bad:
        name, value = next(iter(bad.items()))
        raise ValueError(f"severity of check {name!r} must be 'warn' or 'blocking', not {value!r}")
    return CheckPolicy(blocking=frozenset(name for name, value in severities.items() if value == "blocking"), default=default)
