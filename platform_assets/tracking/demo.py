"""Tracking's part of `platform-assets demo`: register what the demo ran so far, then report it.

The demo's runs execute in process, so no run status sensor sees them: they are caught up here,
with the code location's whole asset graph as the sensors under the daemon have it (a run executed
in process only knows its own job's graph, so the report's own catch-up would record a coverage
export as an `extract` with no sources).
"""

from __future__ import annotations

from dagster import DagsterInstance, Definitions

from platform_assets.core.hold_guards import assets_by_job_of
from platform_assets.tracking.api import track_process, tracker_for
from platform_assets.tracking.runs import track_finished_runs


def run_demo(instance: DagsterInstance, defs: Definitions) -> list[str]:
    tracker = tracker_for(None)
    # A tool outside Dagster follows the same workflow through the Python API.
    with track_process(
        "tracking_demo_external_check", type="check", tool="python", actor="demo", sources=["platform_database"]
    ) as run:
        run.records_read = len(tracker.processes())
    repository = defs.get_repository_def()
    asset_graph, jobs = repository.asset_graph, assets_by_job_of(repository)
    track_finished_runs(tracker, instance, asset_graph, assets_by_job=jobs)
    result = defs.resolve_job_def("process_status_report_job").execute_in_process(instance=instance)
    if not result.success:
        raise RuntimeError("the process_status_report run failed: see the run in the Dagster UI")
    metadata = result.asset_materializations_for_node("process_status_report")[0].metadata
    # The report run itself is finished now: register it too (with the report file as an extract).
    track_finished_runs(tracker, instance, asset_graph, assets_by_job=jobs)
    statuses = tracker.processes()
    runs = sum(len(tracker.runs(status.process.name, limit=1000)) for status in statuses)
    lines = [
        f"tracking: {len(statuses)} processes, {runs} runs, {metadata['on_hold'].value} on hold, "
        f"{len(tracker.extracts())} extracts registered",
        f"tracking: process status report at {metadata['uri'].value}",
    ]
    lines += [
        f"tracking:   {status.process.name}: {status.state}"
        + (f" (run #{status.last_run.run_number})" if status.last_run else "")
        for status in statuses
    ]
    return lines
