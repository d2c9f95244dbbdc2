"""Jobs of the dataset tracker."""

from dagster import define_asset_job

from platform_assets.core.alerts import SUBJECT_TAG
from platform_assets.core.settings import load_settings
from platform_assets.dataset_tracker.assets import dataset_inventory, tracker_sheet

dataset_tracker_job = define_asset_job(
    "dataset_tracker_job",
    selection=[dataset_inventory, tracker_sheet],
    description="Crawl the dataset sources, record state changes and rewrite the tracker sheet.",
    # What a failure email names for runs launched by hand (schedule and sensor set it per run too).
    tags={SUBJECT_TAG: str(load_settings().sources_config)},
)
