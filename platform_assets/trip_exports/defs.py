"""Dagster definitions of the trip_exports system (merged by platform_assets/definitions.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import AssetSpec, Definitions

from platform_assets.core.metadata import column_schema, with_standard_metadata
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

OWNERS = ["team:trip_exports"]
# The carpool registry's trips table both exports read, and the open-data portal the monthly
# file goes to: external assets, the ends of this system in the global graph.
carpool_trips = AssetSpec(
    "carpool_trips",
    group_name="trip_exports",
    owners=OWNERS,
    kinds={"postgres", "table"},
    description="The carpool registry's `trips` table (PLATFORM_DATABASE_URL), read by the trip exports.",
)
opendata_portal = AssetSpec(
    "opendata_portal",
    group_name="trip_exports",
    owners=OWNERS,
    kinds={"api"},
    deps=["opendata_trip_export"],
    description="The open-data portal (PLATFORM_OPENDATA_PORTAL_URL) the monthly anonymised trips are published to.",
)


def _trip_exports_assets() -> list:
    """The assets with their lineage and column schemas (the XLSX columns of the full export type;
    each export type keeps a subset, named in the materialization's metadata)."""
    from platform_assets.trip_exports.columns import ALL_COLUMNS
    from platform_assets.trip_exports.opendata import OPENDATA_COLUMNS

    return [
        carpool_trips,
        with_standard_metadata(trip_export, deps=[carpool_trips], columns=column_schema(ALL_COLUMNS)),
        with_standard_metadata(opendata_trip_export, deps=[carpool_trips], columns=column_schema(OPENDATA_COLUMNS)),
        opendata_portal,
    ]


def trip_exports_resources(env: Mapping[str, str] | None = None, *, resolve: bool = False) -> dict[str, Any]:
    return {
        "trip_exports": configure(TripExportPolicy, env, resolve=resolve),
        "opendata_portal": configure(OpenDataPortal, env, resolve=resolve),
    }


def trip_exports_definitions(env: Mapping[str, str] | None = None, *, with_resources: bool = True) -> Definitions:
    """`with_resources=False`: without this system's resources, for callers that bind their own."""
    return Definitions(
        assets=_trip_exports_assets(),
        jobs=[trip_export_job, opendata_trip_export_job, trip_export_expiry_job],
        sensors=[trip_export_sensor, opendata_request_sensor],
        schedules=[trip_export_expiry_schedule, opendata_trip_export_schedule],
        resources=trip_exports_resources(env) if with_resources else {},
    )
