"""Dagster definitions of the trip_exports system (merged by platform_assets/definitions.py)."""

from dagster import Definitions

from platform_assets.trip_exports.assets import opendata_trip_export, trip_export
from platform_assets.trip_exports.jobs import (
    opendata_trip_export_job,
    trip_export_expiry_job,
    trip_export_job,
)
from platform_assets.trip_exports.schedules import opendata_trip_export_schedule, trip_export_expiry_schedule
from platform_assets.trip_exports.sensors import opendata_request_sensor, trip_export_sensor

defs = Definitions(
    assets=[trip_export, opendata_trip_export],
    jobs=[trip_export_job, opendata_trip_export_job, trip_export_expiry_job],
    sensors=[trip_export_sensor, opendata_request_sensor],
    schedules=[trip_export_expiry_schedule, opendata_trip_export_schedule],
)
