"""Dagster definitions of the transit system (merged by platform_assets/definitions.py).

The GTFS quality checks on the export assets and their reports are the quality system's
(`quality/gtfs_checks.py`): they name these assets by key."""

from __future__ import annotations

from collections.abc import Mapping

from dagster import AssetSpec, Definitions

from platform_assets.core.metadata import with_standard_metadata
from platform_assets.core.settings import configure, resolved
from platform_assets.transit.assets import contributor_export, coverage_export, coverage_publication
from platform_assets.transit.expiry_checks import coverage_contributor_expiry
from platform_assets.transit.get_file import build_get_file_job
from platform_assets.transit.jobs import build_transit_jobs
from platform_assets.transit.resources import TransitSettings
from platform_assets.transit.schedules import transit_automatic_update
from platform_assets.transit.sensors import transit_sensors
from platform_assets.transit.update_now import build_update_now_job

RESOURCE_CLASSES: tuple[type, ...] = (TransitSettings,)

# The real systems at both ends of transit, as external assets (Dagster observes, never builds
# them), so the global graph draws where the feeds come from and where they go.
contributor_sources = AssetSpec(
    "contributor_sources",
    group_name="transit",
    owners=["team:transit"],
    kinds={"http", "ftp"},
    description="The contributors' GTFS data sources (URLs or manual uploads, from the catalog), "
    "fetched by contributor_export when due by their frequency.",
)
publication_platforms = AssetSpec(
    "publication_platforms",
    group_name="transit",
    owners=["team:transit"],
    kinds={"navitia", "ftp", "s3"},
    deps=["coverage_publication"],
    description="The publication platforms of each coverage environment (navitia, ODS, stop-area "
    "services over HTTP, FTP, S3 or a folder), written by coverage_publication.",
)


def transit_resources(env: Mapping[str, str] | None = None, *, resolve: bool = False) -> dict[str, TransitSettings]:
    return {"transit": configure(TransitSettings, env, resolve=resolve)}


def transit_definitions(env: Mapping[str, str] | None = None, *, with_resources: bool = True) -> Definitions:
    """The transit definitions; its jobs retry an outage once after PLATFORM_TRANSIT_RETRY_DELAY.
    `with_resources=False`: without transit's resources, for callers that bind their own."""
    resources = transit_resources(env)
    settings = resolved(TransitSettings, env)
    retry_delay = settings.retry_delay_seconds()
    return Definitions(
        assets=[
            contributor_sources,
            with_standard_metadata(contributor_export, deps=[contributor_sources]),
            coverage_export,
            coverage_publication,
            publication_platforms,
        ],
        asset_checks=[coverage_contributor_expiry],
        jobs=[*build_transit_jobs(retry_delay, settings.max_runtime), build_update_now_job(settings.max_runtime),
              build_get_file_job(settings.max_runtime)],
        schedules=[transit_automatic_update],
        sensors=transit_sensors(),
        resources=resources if with_resources else {},
    )
