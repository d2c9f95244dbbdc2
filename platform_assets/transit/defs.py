"""Dagster definitions of the transit system (merged by platform_assets/definitions.py)."""

from dagster import Definitions

from platform_assets.quality.reports import build_quality_report
from platform_assets.transit.assets import build_transit_assets, contributors_partitions, coverages_partitions
from platform_assets.transit.checks import contributor_export_checks, coverage_export_checks
from platform_assets.transit.expiry_checks import coverage_contributor_expiry
from platform_assets.transit.jobs import build_transit_jobs
from platform_assets.transit.runtime import retry_delay_seconds
from platform_assets.transit.schedules import transit_automatic_update
from platform_assets.transit.sensors import transit_sensors


def build_transit_definitions(retry_delay: float) -> Definitions:
    """The transit definitions with fetch/export steps retried once after `retry_delay` seconds."""
    assets = build_transit_assets(retry_delay)
    # Reports over the stored GTFS check runs (materialized on demand, after the checks ran).
    reports = [
        build_quality_report("contributor_export", contributors_partitions, group_name="transit"),
        build_quality_report("coverage_export", coverages_partitions, group_name="transit"),
    ]
    return Definitions(
        assets=[*assets, *reports],
        asset_checks=[contributor_export_checks, coverage_export_checks, coverage_contributor_expiry],
        jobs=build_transit_jobs(assets),
        schedules=[transit_automatic_update],
        sensors=transit_sensors(),
    )


defs = build_transit_definitions(retry_delay_seconds())
