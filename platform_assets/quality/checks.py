"""OCDS checks surfaced as Dagster asset checks, one multi-asset check per checked asset."""

from collections.abc import Iterator, Sequence

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetKey,
    multi_asset_check,
)

from platform_assets.core.database import PlatformDatabase
from platform_assets.core.objectstore import ObjectStore
from platform_assets.lib.quality.check import Check
from platform_assets.lib.quality.result import Level
from platform_assets.quality.dagster_checks import CheckPolicy, asset_check_results, check_specs
from platform_assets.quality.ocds.dataset_store import DATASET_PREFIX, FILTERED_PREFIX
from platform_assets.quality.ocds.registry import ocds_checks
from platform_assets.quality.partitions import ocds_datasets


def ocds_group(name: str, level: Level) -> str:
    """OCDS Dagster checks by family: field coverage, field quality, coherent, consistent,
    reference, dataset and time-based (each with its member checks in its metadata)."""
    if level == Level.FIELD:
        return "field_coverage" if name.endswith((".exists", ".non_empty")) else "field_quality"
    if level == Level.ITEM:
        return name.split(".", 1)[0]
    return "dataset" if level == Level.DATASET else "time_based"


def build_ocds_checks(
    asset_key: str, prefix: str, policy: CheckPolicy, checks: Sequence[Check] | None = None
) -> AssetChecksDefinition:
    """All OCDS checks on one dataset asset (its partition names the dataset); `policy` decides
    which block (read from PLATFORM_QUALITY_BLOCKING_CHECKS when the definitions are built);
    `checks`: ocds_checks(), when the caller already listed them (only their names, levels and
    descriptions are read here)."""

    @multi_asset_check(
        name=f"{asset_key}_quality",
        # Partitioned like the dataset assets: each dataset's results are its own.
        specs=check_specs(ocds_checks() if checks is None else checks, asset_key, policy, ocds_group, partitions_def=ocds_datasets),
        description=f"Field, compiled-release, dataset and time-based OCDS checks on {asset_key}.",
    )
    def _checks(
        context: AssetCheckExecutionContext, object_store: ObjectStore, database: PlatformDatabase
    ) -> Iterator[AssetCheckResult]:
        from platform_assets.quality.ocds.service import ensure_check_run

        dataset = context.partition_key
        stored = ensure_check_run(database.engine, object_store, asset_key, dataset, prefix, context.run.run_id)
        failing = sum(1 for result in stored.results if not result.ok)
        context.log.info(f"{asset_key}[{dataset}]: {len(stored.results)} checks, {failing} failing")
        yield from asset_check_results(stored.results, AssetKey(asset_key), policy, ocds_group)

    return _checks


def build_all_ocds_checks(policy: CheckPolicy) -> list[AssetChecksDefinition]:
    checks = ocds_checks()  # ~1,300 checks, listed once for both assets
    return [
        build_ocds_checks("ocds_dataset", DATASET_PREFIX, policy, checks),
        build_ocds_checks("ocds_filtered_dataset", FILTERED_PREFIX, policy, checks),
    ]
