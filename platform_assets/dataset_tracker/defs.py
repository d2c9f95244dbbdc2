"""Dagster definitions of the dataset_tracker system (merged by platform_assets/definitions.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import AssetSpec, Definitions

from platform_assets.core.metadata import column_schema, with_standard_metadata
from platform_assets.core.settings import configure, resolved
from platform_assets.dataset_tracker.assets import dataset_inventory, tracker_sheet
from platform_assets.dataset_tracker.checks import metadata_files_readable, no_duplicate_datasets
from platform_assets.dataset_tracker.jobs import build_dataset_tracker_job
from platform_assets.dataset_tracker.resources import SHEETS_SETTINGS, TrackerSources, sheets_resource
from platform_assets.dataset_tracker.schedules import dataset_tracker_schedule
from platform_assets.dataset_tracker.sensors import dataset_folders_sensor

RESOURCE_CLASSES: tuple[type, ...] = (TrackerSources,)

OWNERS = ["team:curation"]
dataset_folders = AssetSpec(
    "dataset_folders",
    group_name="dataset_tracker",
    owners=OWNERS,
    kinds={"folder"},
    description="The dataset folders and listings named by PLATFORM_SOURCES_CONFIG, crawled by dataset_inventory.",
)
tracker_google_sheet = AssetSpec(
    "tracker_google_sheet",
    group_name="dataset_tracker",
    owners=OWNERS,
    kinds={"googlesheets"},
    deps=["tracker_sheet"],
    description="The curators' Google Sheet (a local workbook on the embedded default) that tracker_sheet writes.",
)


def _tracker_assets() -> list:
    from platform_assets.dataset_tracker.report import TRACKED_HEADER

    return [
        dataset_folders,
        with_standard_metadata(dataset_inventory, deps=[dataset_folders]),
        with_standard_metadata(tracker_sheet, columns=column_schema(TRACKED_HEADER)),
        tracker_google_sheet,
    ]
PLAIN_SETTINGS = SHEETS_SETTINGS


def dataset_tracker_resources(env: Mapping[str, str] | None = None, *, resolve: bool = False) -> dict[str, Any]:
    return {
        "tracker_sources": configure(TrackerSources, env, resolve=resolve),
        "sheets": sheets_resource(env, resolve=resolve),
    }


def dataset_tracker_definitions(env: Mapping[str, str] | None = None, *, with_resources: bool = True) -> Definitions:
    """`with_resources=False`: without this system's resources, for callers that bind their own."""
    sources = resolved(TrackerSources, env)
    return Definitions(
        assets=_tracker_assets(),
        asset_checks=[no_duplicate_datasets, metadata_files_readable],
        jobs=[build_dataset_tracker_job(str(sources.path))],
        schedules=[dataset_tracker_schedule],
        sensors=[dataset_folders_sensor],
        resources=dataset_tracker_resources(env) if with_resources else {},
    )
