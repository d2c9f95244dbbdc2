"""`process_status_report`: every process's state, last runs and hold, visible in the UI."""

from datetime import UTC, datetime

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset
from dagster._core.definitions.assets.graph.base_asset_graph import BaseAssetGraph
from dagster_shared.check import CheckError

from platform_assets.core.database import PlatformDatabase
from platform_assets.core.hold_guards import assets_by_job_of, refuse_if_held
from platform_assets.core.metadata import ROW_COUNT, file_metadata, files_last
from platform_assets.core.objectstore import ObjectStore
from platform_assets.core.tags import PROCESS_TYPE_TAG
from platform_assets.tracking.resources import TrackingPolicy

REPORT_KEY = "reports/process_status.md"


def _asset_graph(context: AssetExecutionContext) -> BaseAssetGraph:
    # A code location run knows its repository; `materialize()` runs only their job's graph.
    try:
        return context.repository_def.asset_graph
    except CheckError:
        return context.job_def.asset_layer.asset_graph


def _assets_by_job(context: AssetExecutionContext) -> dict[str, frozenset[str]]:
    try:
        return assets_by_job_of(context.repository_def)
    except CheckError:  # `materialize()`: no code location, no named jobs
        return {}


@asset(
    group_name="tracking",
    owners=["team:platform"],
    kinds={"markdown"},
    tags={PROCESS_TYPE_TAG: "report"},
    description="Each process's status, last runs and hold state (also written to reports/process_status.md).",
)
def process_status_report(
    context: AssetExecutionContext, database: PlatformDatabase, object_store: ObjectStore, tracking: TrackingPolicy
) -> MaterializeResult:
    from platform_assets.tracking.api import tracker_for
    from platform_assets.tracking.report import build_report, status_table
    from platform_assets.tracking.runs import track_finished_runs

    refuse_if_held(context, database)
    tracker = tracker_for(database.url, tracking.max_concurrent_failures)
    # Catch up finished runs the sensors never saw (before their first tick, or run in process).
    caught_up = track_finished_runs(tracker, context.instance, _asset_graph(context), skip_run_ids=[context.run.run_id],
                                    assets_by_job=_assets_by_job(context))
    if caught_up:
        context.log.info(f"registered {len(caught_up)} finished runs the sensors had not seen")
    markdown, statuses = build_report(tracker, datetime.now(UTC))
    stored = object_store.put_bytes(REPORT_KEY, markdown.encode(), "text/markdown")
    held = [status.process.name for status in statuses if status.hold is not None]
    return MaterializeResult(
        metadata=files_last({
            **file_metadata(main=stored),
            "processes": len(statuses),
            ROW_COUNT: len(statuses),  # one row per process in the status table
            "on_hold": len(held),
            "held_processes": ", ".join(held) or "none",
            "status": MetadataValue.md(status_table(statuses)),
            "report": MetadataValue.md(markdown),
        })
    )
