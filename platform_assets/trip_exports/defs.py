"""Dagster definitions of the trip_exports system (merged by platform_assets/definitions.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import Definitions

from platform_assets.core.settings import configure
from platform_assets.trip_exports.assets import opendata_trip_export, trip_export
from platform_assets.trip_exports.jobs import (
    opendata_trip_export_job,
    trip_export_expiry_job,
    trip_export_job,
)
from platform_assets.trip_exports.resources import OpenDataPortal, TripExportPolicy
from platform_assets.trip_exports.schedules import opendata_trip_export_schedule, trip_export_expiry_schedule
from platform_assets.trip_exports.sensors import opendata_request_sensor, trip_export_sensor

RESOURCE_CLASSES: tuple[type, ...] = (TripExportPolicy, OpenDataPortal)


def trip_exports_resources(env: Mapping[str, str] | None = None, *, resolve: bool = False) -> dict[str, Any]:
    return {
        "trip_exports": configure(TripExportPolicy, env, resolve=resolve),
        "opendata_portal": configure(OpenDataPortal, env, resolve=resolve),
    }


def trip_exports_definitions(env: Mapping[str, str] | None = None, *, with_resources: bool = True) -> Definitions:
    """`with_resources=False`: without this system's resources, for callers that bind their own."""
    return Definitions(
        assets=[trip_export, opendata_trip_export],
        jobs=[trip_export_job, opendata_trip_export_job, trip_export_expiry_job],
        sensors=[trip_export_sensor, opendata_request_sensor],
        schedules=[trip_export_expiry_schedule, opendata_trip_export_schedule],
        resources=trip_exports_resources(env) if with_resources else {},
    )
