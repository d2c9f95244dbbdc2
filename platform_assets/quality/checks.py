"""OCDS checks surfaced as Dagster asset checks, one multi-asset check per checked asset.

The specs are built from `ocds/check_groups.json`, the OCDS checks grouped once and stored:
listing the ~1,300 checks means importing every check module and walking the release schema,
which every code-location load (every queued run) would otherwise pay for names only.
`python -m platform_assets.quality.checks` rewrites the file; a test compares it with the checks.
"""

import json
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetKey,
    multi_asset_check,
)

from platform_assets.core.database import PlatformDatabase
from platform_assets.core.objectstore import ObjectStore
from platform_assets.lib.quality.result import Level
from platform_assets.quality.dagster_checks import (
    CheckGroup,
    CheckPolicy,
    asset_check_results,
    check_groups,
    group_specs,
)
from platform_assets.quality.ocds.prefixes import DATASET_PREFIX, FILTERED_PREFIX
from platform_assets.quality.partitions import ocds_datasets

OCDS_CHECK_GROUPS = Path(__file__).parent / "ocds" / "check_groups.json"


def ocds_group(name: str, level: Level) -> str:
    """OCDS Dagster checks by family: field coverage, field quality, coherent, consistent,
    reference, dataset and time-based (each with its member checks in its metadata)."""
    if level == Level.FIELD:
        return "field_coverage" if name.endswith((".exists", ".non_empty")) else "field_quality"
    if level == Level.ITEM:
        return name.split(".", 1)[0]
    return "dataset" if level == Level.DATASET else "time_based"


def computed_ocds_check_groups() -> dict[str, CheckGroup]:
    """The OCDS checks grouped as their Dagster checks, from the checks themselves."""
    from platform_assets.quality.ocds.registry import ocds_checks

    return check_groups(ocds_checks(), ocds_group)


@cache
def ocds_check_groups() -> dict[str, CheckGroup]:
    """The stored grouping (`OCDS_CHECK_GROUPS`)."""
    stored = json.loads(OCDS_CHECK_GROUPS.read_text(encoding="utf-8"))
    return {name: CheckGroup.from_json(group) for name, group in stored.items()}


def write_ocds_check_groups() -> None:
    groups = {name: group.as_json() for name, group in computed_ocds_check_groups().items()}
    OCDS_CHECK_GROUPS.write_text(json.dumps(groups, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def build_ocds_checks(asset_key: str, prefix: str, policy: CheckPolicy) -> AssetChecksDefinition:
    """All OCDS checks on one dataset asset (its partition names the dataset); `policy` decides
    which block (read from PLATFORM_QUALITY_BLOCKING_CHECKS when the definitions are built)."""

    @multi_asset_check(
        name=f"{asset_key}_quality",
        # Partitioned like the dataset assets: each dataset's results are its own.
        specs=group_specs(ocds_check_groups(), asset_key, policy, partitions_def=ocds_datasets),
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
    return [
        build_ocds_checks("ocds_dataset", DATASET_PREFIX, policy),
        build_ocds_checks("ocds_filtered_dataset", FILTERED_PREFIX, policy),
    ]


if __name__ == "__main__":
    write_ocds_check_groups()
    print(f"wrote {OCDS_CHECK_GROUPS}", file=sys.stderr)
