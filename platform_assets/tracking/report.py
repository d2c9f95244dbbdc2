"""The process status report as markdown (pure: no Dagster)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from platform_assets.tracking.models import ProcessRun
    from platform_assets.tracking.tracker import ProcessStatus, ProcessTracker


RUNS_PER_PROCESS = 5


def when(moment: datetime | None) -> str:
    from platform_assets.tracking.tracker import as_utc

    moment = as_utc(moment)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "-"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def status_table(statuses: Sequence[ProcessStatus]) -> str:
    lines = [
        "| process | type | tool | state | last run | failures in a row | hold |",
        "|---|---|---|---|---|---|---|",
    ]
    for status in statuses:
        process, last = status.process, status.last_run
        last_text = f"#{last.run_number} {last.status} {when(last.started_at)}" if last else "-"
        hold_text = f"since {when(status.hold.held_at)}: {status.hold.reason}" if status.hold else "-"
        lines.append(
            f"| {_cell(process.name)} | {process.type} | {process.tool} | **{status.state}** | {last_text} "
            f"| {process.consecutive_failures}/{process.max_concurrent_failures} | {_cell(hold_text)} |"
        )
    return "\n".join(lines)


def runs_table(runs: Sequence[ProcessRun]) -> str:
    lines = ["| run | status | actor | started | ended | records written | Dagster run |", "|---|---|---|---|---|---|---|"]
    for run in runs:
        lines.append(
            f"| #{run.run_number} | {run.status} | {_cell(run.actor or '-')} | {when(run.started_at)} "
            f"| {when(run.ended_at)} | {run.records_written if run.records_written is not None else '-'} "
            f"| {run.dagster_run_id or '-'} |"
        )
    return "\n".join(lines)


def build_report(tracker: ProcessTracker, generated_at: datetime) -> tuple[str, list[ProcessStatus]]:
    """The whole report (status table, then each process's last runs) and the statuses it shows."""
    statuses = tracker.processes()
    parts = [f"# Process status ({when(generated_at)})", "", status_table(statuses)]
    for status in statuses:
        process = status.process
        parts += ["", f"## {process.name}", ""]
        sources = ", ".join(s.name for s in process.sources) or "-"
        targets = ", ".join(t.name for t in process.targets) or "-"
        parts += [f"sources: {sources}; targets: {targets}", "", runs_table(tracker.runs(process.name, RUNS_PER_PROCESS))]
    return "\n".join(parts) + "\n", statuses
