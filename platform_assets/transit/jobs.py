"""Transit jobs. Job names are the action types of failure emails and the process names of holds."""

from dagster import (
    AssetSelection,
    Backoff,
    PartitionedConfig,
    PartitionsDefinition,
    RetryPolicy,
    define_asset_job,
)
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from platform_assets.core.tags import ACTION_TAG, publication_tags
from platform_assets.transit.assets import coverages_partitions

CONTRIBUTOR_EXPORT_JOB = "transit_contributor_export"
COVERAGE_EXPORT_JOB = "transit_coverage_export"
COVERAGE_PUBLICATION_JOB = "transit_coverage_publication"


def _publication_config(coverages: PartitionsDefinition) -> PartitionedConfig:
    """Every run of a coverage partition carries `platform/publication=<coverage id>`, whoever
    launches it (sensor, schedule, CLI, launchpad): the run coordinator allows one per coverage."""
    return PartitionedConfig(
        partitions_def=coverages,
        run_config_for_partition_key_fn=lambda _coverage_id: {},
        tags_for_partition_key_fn=publication_tags,
    )


MAX_RUNTIME_TAG = "dagster/max_runtime"  # honoured by the instance's run monitoring


def build_transit_jobs(retry_delay: float, max_runtime_seconds: int = 4 * 3600) -> list[UnresolvedAssetJobDefinition]:
    """The transit jobs. Fetch and export steps are retried once after `retry_delay` seconds
    (PLATFORM_TRANSIT_RETRY_DELAY) when their failure may pass (an outage: see
    `core.failures.one_line_failure`); the publication step is never retried (a partial publication is
    not repeated blindly). Stuck runs (Tartare cancels jobs over 4 h): run monitoring fails a run
    past `max_runtime_seconds` (PLATFORM_TRANSIT_MAX_RUNTIME), and the failure sensor emails it."""
    retry = RetryPolicy(max_retries=1, delay=retry_delay, backoff=Backoff.LINEAR)
    max_runtime = {MAX_RUNTIME_TAG: str(max_runtime_seconds)}
    return [
        define_asset_job(
            CONTRIBUTOR_EXPORT_JOB,
            tags={ACTION_TAG: "contributor_export", **max_runtime},
            # Without the quality checks: most contributor runs export nothing new, and checks
            # planned in such a run end SKIPPED; they run by automation after a new export.
            selection=AssetSelection.assets("contributor_export").without_checks(),
            op_retry_policy=retry,
            description="Fetch a contributor's data sources and export it when one changed "
            "(launchpad: ops.contributor_export.config.force to export anyway).",
        ),
        define_asset_job(
            COVERAGE_EXPORT_JOB,
            tags={ACTION_TAG: "coverage_export", **max_runtime},
            config=_publication_config(coverages_partitions),
            selection=AssetSelection.assets("coverage_export", "coverage_publication"),
            op_retry_policy=retry,
            description="Merge a coverage's latest contributor exports and publish it when new "
            "(launchpad: ops.coverage_export.config.force to export anyway).",
        ),
        define_asset_job(
            COVERAGE_PUBLICATION_JOB,
            tags={ACTION_TAG: "coverage_publication", **max_runtime},
            config=_publication_config(coverages_partitions),
            selection=AssetSelection.assets("coverage_publication"),
            description="Publish a coverage's latest export again (manual action).",
        ),
    ]
