"""Jobs of the dataset tracker."""

from dagster import AssetSelection, define_asset_job
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from platform_assets.core.tags import SUBJECT_TAG

DATASET_TRACKER_JOB = "dataset_tracker_job"


def build_dataset_tracker_job(sources_config: str) -> UnresolvedAssetJobDefinition:
    """The tracker job; `sources_config` is what a failure email names for runs launched by hand
    (the schedule and the sensor set it per run too)."""
    return define_asset_job(
        DATASET_TRACKER_JOB,
        # Keys, not strings: a string is parsed by Dagster's selection grammar (antlr, ~0.15 s to import).
        selection=AssetSelection.assets("dataset_inventory", "tracker_sheet"),
        description="Crawl the dataset sources, record state changes and rewrite the tracker sheet.",
        tags={SUBJECT_TAG: sources_config},
    )
