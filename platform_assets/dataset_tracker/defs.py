"""Dagster definitions of the dataset_tracker system (merged by platform_assets/definitions.py)."""

from dagster import Definitions

from platform_assets.dataset_tracker.assets import dataset_inventory, tracker_sheet
from platform_assets.dataset_tracker.checks import metadata_files_readable, no_duplicate_datasets
from platform_assets.dataset_tracker.jobs import dataset_tracker_job
from platform_assets.dataset_tracker.schedules import dataset_tracker_schedule
from platform_assets.dataset_tracker.sensors import dataset_folders_sensor

defs = Definitions(
    assets=[dataset_inventory, tracker_sheet],
    asset_checks=[no_duplicate_datasets, metadata_files_readable],
    jobs=[dataset_tracker_job],
    schedules=[dataset_tracker_schedule],
    sensors=[dataset_folders_sensor],
)
