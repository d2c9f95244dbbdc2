"""Dagster definitions of the tracking system (merged by platform_assets/definitions.py)."""

from dagster import Definitions

from platform_assets.tracking.assets import process_status_report
from platform_assets.tracking.jobs import hold_process_job, process_status_report_job, release_process_job
from platform_assets.tracking.schedules import process_status_report_schedule
from platform_assets.tracking.sensors import tracking_sensors

defs = Definitions(
    assets=[process_status_report],
    jobs=[process_status_report_job, hold_process_job, release_process_job],
    schedules=[process_status_report_schedule],
    sensors=tracking_sensors,
)
