"""Dagster definitions of the quality system (merged by platform_assets/definitions.py)."""

from dagster import Definitions

from platform_assets.quality.assets import ocds_dataset, ocds_filtered_dataset
from platform_assets.quality.checks import ocds_dataset_checks, ocds_filtered_dataset_checks
from platform_assets.quality.gtfs_checks import (
    contributor_export_checks,
    contributor_export_report,
    coverage_export_checks,
    coverage_export_report,
)
from platform_assets.quality.jobs import ocds_filtered_quality_job, ocds_quality_job
from platform_assets.quality.reports import ocds_dataset_report, ocds_filtered_dataset_report
from platform_assets.quality.sensors import ocds_dataset_sensor

defs = Definitions(
    assets=[ocds_dataset, ocds_filtered_dataset, ocds_dataset_report, ocds_filtered_dataset_report,
            contributor_export_report, coverage_export_report],
    asset_checks=[ocds_dataset_checks, ocds_filtered_dataset_checks, contributor_export_checks, coverage_export_checks],
    jobs=[ocds_quality_job, ocds_filtered_quality_job],
    sensors=[ocds_dataset_sensor],
)
