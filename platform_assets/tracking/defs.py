"""Dagster definitions of the tracking system (merged by platform_assets/definitions.py)."""

from __future__ import annotations

from collections.abc import Mapping

from dagster import Definitions

from platform_assets.core.settings import configure
from platform_assets.tracking.assets import process_status_report
from platform_assets.tracking.jobs import hold_process_job, process_status_report_job, release_process_job
from platform_assets.tracking.resources import TrackingPolicy
from platform_assets.tracking.schedules import process_status_report_schedule
from platform_assets.tracking.sensors import tracking_sensors

RESOURCE_CLASSES: tuple[type, ...] = (TrackingPolicy,)


def tracking_definitions(env: Mapping[str, str] | None = None, *, with_resources: bool = True) -> Definitions:
    """`with_resources=False`: without this system's resources, for callers that bind their own."""
    return Definitions(
        assets=[process_status_report],
        jobs=[process_status_report_job, hold_process_job, release_process_job],
        schedules=[process_status_report_schedule],
        sensors=tracking_sensors,
        resources={"tracking": configure(TrackingPolicy, env)} if with_resources else {},
    )
