"""Transit jobs. Job names are the action types of failure emails and the process names of holds."""

from dagster import AssetsDefinition, PartitionedConfig, PartitionsDefinition, define_asset_job
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from platform_assets.core.alerts import ACTION_TAG
from platform_assets.core.settings import load_settings
from platform_assets.core.tags import publication_tags

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


def build_transit_jobs(assets: list[AssetsDefinition]) -> list[UnresolvedAssetJobDefinition]:
    contributor_export, coverage_export, coverage_publication = assets
    # Stuck runs (Tartare cancels jobs over 4 h): run monitoring fails a run past this many seconds,
    # and the failure sensor emails it.
    max_runtime = {MAX_RUNTIME_TAG: str(load_settings().whole_number("PLATFORM_TRANSIT_MAX_RUNTIME", minimum=1))}
    return [
        define_asset_job(
            CONTRIBUTOR_EXPORT_JOB,
            tags={ACTION_TAG: "contributor_export", **max_runtime},
            selection=[contributor_export],
            description="Fetch a contributor's data sources and export it when one changed "
            "(launchpad: ops.contributor_export.config.force to export anyway).",
        ),
        define_asset_job(
            COVERAGE_EXPORT_JOB,
            tags={ACTION_TAG: "coverage_export", **max_runtime},
            config=_publication_config(coverage_export.partitions_def),
            selection=[coverage_export, coverage_publication],
            description="Merge a coverage's latest contributor exports and publish it when new "
            "(launchpad: ops.coverage_export.config.force to export anyway).",
        ),
        define_asset_job(
            COVERAGE_PUBLICATION_JOB,
            tags={ACTION_TAG: "coverage_publication", **max_runtime},
            config=_publication_config(coverage_publication.partitions_def),
            selection=[coverage_publication],
            description="Publish a coverage's latest export again (manual action).",
        ),
    ]
