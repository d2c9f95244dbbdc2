"""Dagster definitions of the dataset_tracker system (merged by platform_assets/definitions.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import Definitions

from platform_assets.core.settings import configure
from platform_assets.dataset_tracker.assets import dataset_inventory, tracker_sheet
from platform_assets.dataset_tracker.checks import metadata_files_readable, no_duplicate_datasets
from platform_assets.dataset_tracker.jobs import build_dataset_tracker_job
from platform_assets.dataset_tracker.resources import SHEETS_SETTINGS, TrackerSources, sheets_resource
from platform_assets.dataset_tracker.schedules import dataset_tracker_schedule
from platform_assets.dataset_tracker.sensors import dataset_folders_sensor

RESOURCE_CLASSES: tuple[type, ...] = (TrackerSources,)
PLAIN_SETTINGS = SHEETS_SETTINGS


def dataset_tracker_resources(env: Mapping[str, str] | None = None, *, resolve: bool = False) -> dict[str, Any]:
    return {
        "tracker_sources": configure(TrackerSources, env, resolve=resolve),
        "sheets": sheets_resource(env, resolve=resolve),
    }


def dataset_tracker_definitions(env: Mapping[str, str] | None = None, *, with_resources: bool = True) -> Definitions:
    """`with_resources=False`: without this system's resources, for callers that bind their own."""
    sources = configure(TrackerSources, env, resolve=True)
    return Definitions(
        assets=[dataset_inventory, tracker_sheet],
        asset_checks=[no_duplicate_datasets, metadata_files_readable],
        jobs=[build_dataset_tracker_job(str(sources.path))],
        schedules=[dataset_tracker_schedule],
        sensors=[dataset_folders_sensor],
        resources=dataset_tracker_resources(env) if with_resources else {},
    )
