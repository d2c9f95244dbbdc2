"""Quality reports built from stored results (building is separate from checking): counts per
check and per level, worst checks first, examples; as markdown, XLSX or HTML."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from platform_assets.lib.quality.result import CheckResult, Level, Outcome

LEVEL_ORDER = (Level.FIELD, Level.ITEM, Level.DATASET, Level.TIME)


def worst_first(results: Sequence[CheckResult]) -> list[CheckResult]:
    """Failing checks first, lowest passing share first, then the most failures; N/A last."""

    def key(result: CheckResult) -> tuple[int, float, int, str]:
        applicable = 0 if result.applicable else 1
        share = result.share if result.share is not None else 1.0
        return (applicable + (0 if not result.ok else 1), share, -result.failed, result.name)

    return sorted(results, key=key)


@dataclass(frozen=True)
class LevelSummary:
    level: str
    checks: int
    ok: int
    failing: int
    not_applicable: int
    passed: int
    failed: int


def level_summaries(results: Sequence[CheckResult]) -> list[LevelSummary]:
    summaries = []
    for level in LEVEL_ORDER:
        mine = [r for r in results if r.level == level]
        if not mine:
            continue
        summaries.append(
            LevelSummary(
                level=str(level),
                checks=len(mine),
                ok=sum(1 for r in mine if r.applicable and r.ok),
                failing=sum(1 for r in mine if not r.ok),
                not_applicable=sum(1 for r in mine if not r.applicable),
                passed=sum(r.passed for r in mine),
                failed=sum(r.failed for r in mine),
            )
        )
    return summaries


def _share(result: CheckResult) -> str:
    return "" if result.share is None else f"{100 * result.share:.1f}%"


def _first_failure(result: CheckResult) -> str:
    examples = result.examples.get(Outcome.FAILED) or []
    return json.dumps(examples[0], ensure_ascii=False, default=str)[:150] if examples else ""


def report_markdown(results: Sequence[CheckResult], title: str, worst: int = 25) -> str:
    lines = [f"### {title}", "", "| level | checks | ok | failing | n/a | passed | failed |", "|---|---|---|---|---|---|---|"]
    for s in level_summaries(results):
        lines.append(f"| {s.level} | {s.checks} | {s.ok} | {s.failing} | {s.not_applicable} | {s.passed} | {s.failed} |")
    lines += ["", f"#### Worst checks (first {worst})", "", "| check | level | passed | failed | n/a | share | example of a failure |", "|---|---|---|---|---|---|---|"]
    for result in worst_first(results)[:worst]:
        example = _first_failure(result).replace("|", "\\|")
        lines.append(
            f"| {'❌' if not result.ok else '✅' if result.applicable else '➖'} {result.name} | {result.level} | "
            f"{result.passed} | {result.failed} | {result.not_applicable} | {_share(result)} | {example} |"
        )
    return "\n".join(lines)


def _rows(results: Sequence[CheckResult]) -> list[list[Any]]:
    return [
        [r.name, str(r.level), "ok" if r.ok else "failing", r.passed, r.failed, r.not_applicable,
         None if r.share is None else round(100 * r.share, 2), r.score, r.threshold, r.description]
        for r in worst_first(results)
    ]


CHECK_HEADER = ["check", "level", "status", "passed", "failed", "not applicable", "share %", "score", "threshold", "description"]
EXAMPLE_HEADER = ["check", "outcome", "item", "details"]


def _example_rows(results: Sequence[CheckResult]) -> list[list[Any]]:
    rows = []
    for result in worst_first(results):
        for outcome in (Outcome.FAILED, Outcome.NOT_APPLICABLE, Outcome.PASSED):
            for example in result.examples.get(outcome, []):
                details = {k: v for k, v in example.items() if k != "item"}
                rows.append([result.name, str(outcome), str(example.get("item", "")), json.dumps(details, ensure_ascii=False, default=str)])
    return rows


def write_xlsx(results: Sequence[CheckResult], path: Path, title: str) -> Path:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    summary = workbook.create_sheet("Summary")
    summary.append([title])
    summary.append(["level", "checks", "ok", "failing", "not applicable", "passed", "failed"])
    for s in level_summaries(results):
        summary.append([s.level, s.checks, s.ok, s.failing, s.not_applicable, s.passed, s.failed])
    checks = workbook.create_sheet("Checks")
    checks.append(CHECK_HEADER)
    for row in _rows(results):
        checks.append(row)
    examples = workbook.create_sheet("Examples")
    examples.append(EXAMPLE_HEADER)
    for row in _example_rows(results):
        examples.append(row)
    workbook.save(path)
    return path


def render_html(results: Sequence[CheckResult], title: str) -> str:
    def table(header: list[str], rows: list[list[Any]]) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape('' if c is None else str(c))}</td>" for c in row) + "</tr>" for row in rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    levels = [[s.level, s.checks, s.ok, s.failing, s.not_applicable, s.passed, s.failed] for s in level_summaries(results)]
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><h2>Levels</h2>"
        + table(["level", "checks", "ok", "failing", "not applicable", "passed", "failed"], levels)
        + "<h2>Checks (worst first)</h2>"
        + table(CHECK_HEADER, _rows(results))
        + "<h2>Examples</h2>"
        + table(EXAMPLE_HEADER, _example_rows(results))
        + "</body></html>"
    )
