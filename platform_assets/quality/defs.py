"""Dagster definitions of the quality system (merged by platform_assets/definitions.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import AssetSpec, Definitions

from platform_assets.core.metadata import with_standard_metadata
from platform_assets.core.settings import configure, resolved
from platform_assets.quality.assets import ocds_dataset, ocds_filtered_dataset
from platform_assets.quality.checks import build_all_ocds_checks
from platform_assets.quality.gtfs_checks import (
    build_all_gtfs_checks,
    contributor_export_report,
    coverage_export_report,
)
from platform_assets.quality.jobs import (
    contributor_export_checks_job,
    ocds_filtered_quality_job,
    ocds_quality_job,
)
from platform_assets.quality.reports import ocds_dataset_report, ocds_filtered_dataset_report
from platform_assets.quality.resources import OcdsSource, QualityPolicy
from platform_assets.quality.sensors import ocds_dataset_sensor

RESOURCE_CLASSES: tuple[type, ...] = (QualityPolicy, OcdsSource)

ocds_folders = AssetSpec(
    "ocds_folders",
    group_name="quality",
    owners=["team:quality"],
    kinds={"folder", "json"},
    description="The OCDS dataset folders (PLATFORM_OCDS_SOURCE; one partition of ocds_dataset per folder), "
    "watched by ocds_dataset_sensor.",
)


def quality_resources(env: Mapping[str, str] | None = None, *, resolve: bool = False) -> dict[str, Any]:
    return {
        "quality": configure(QualityPolicy, env, resolve=resolve),
        "ocds_source": configure(OcdsSource, env, resolve=resolve),
    }


def quality_definitions(env: Mapping[str, str] | None = None, *, with_resources: bool = True) -> Definitions:
    """The quality definitions; which checks block is read now (a check's spec is fixed when the
    definitions are built), everything else inside the runs. `with_resources=False`: without
    quality's resources, for callers that bind their own."""
    quality_policy = resolved(QualityPolicy, env)
    policy = quality_policy.check_policy()
    return Definitions(
        assets=[
            ocds_folders, with_standard_metadata(ocds_dataset, deps=[ocds_folders]), ocds_filtered_dataset, ocds_dataset_report, ocds_filtered_dataset_report,
            contributor_export_report, coverage_export_report,
        ],
        asset_checks=[*build_all_ocds_checks(policy), *build_all_gtfs_checks(quality_policy.blocking())],
        jobs=[ocds_quality_job, ocds_filtered_quality_job, contributor_export_checks_job],
        sensors=[ocds_dataset_sensor],
        resources=quality_resources(env) if with_resources else {},
    )
