"""Dagster definitions of the transit system (merged by platform_assets/definitions.py).

The GTFS quality checks on the export assets and their reports are the quality system's
(`quality/gtfs_checks.py`): they name these assets by key."""

from dagster import Definitions

from platform_assets.transit.assets import build_transit_assets
from platform_assets.transit.jobs import build_transit_jobs
from platform_assets.transit.runtime import retry_delay_seconds
from platform_assets.transit.schedules import transit_automatic_update
from platform_assets.transit.sensors import transit_sensors


def build_transit_definitions(retry_delay: float) -> Definitions:
    """The transit definitions with fetch/export steps retried once after `retry_delay` seconds."""
    assets = build_transit_assets(retry_delay)
    return Definitions(
        assets=assets,
        jobs=build_transit_jobs(assets),
        schedules=[transit_automatic_update],
        sensors=transit_sensors(),
    )


defs = build_transit_definitions(retry_delay_seconds())
