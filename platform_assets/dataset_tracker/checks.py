"""Asset checks on the crawl: duplicates and unreadable metadata are worth a curator's look
(WARN, never blocking: the sheet that shows them must still be written)."""

import json

from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue, asset_check

from platform_assets.core.objectstore import ObjectStore
from platform_assets.dataset_tracker.assets import dataset_inventory

EXAMPLES = 20


@asset_check(asset=dataset_inventory, description="No accession is flagged as a possible duplicate.")
def no_duplicate_datasets(object_store: ObjectStore) -> AssetCheckResult:
    from platform_assets.dataset_tracker.service import INVENTORY_KEY

    inventory = json.loads(object_store.read_bytes(INVENTORY_KEY))
    flagged = [d for d in inventory["datasets"] if d["duplicate_reasons"]]
    return AssetCheckResult(
        passed=not flagged,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "duplicates": len(flagged),
            "examples": MetadataValue.md(
                "\n".join(f"- {d['accession']}: {'; '.join(d['duplicate_reasons'])}" for d in flagged[:EXAMPLES])
                or "none"
            ),
        },
    )


@asset_check(asset=dataset_inventory, description="Every metadata file found could be read.")
def metadata_files_readable(object_store: ObjectStore) -> AssetCheckResult:
    from platform_assets.dataset_tracker.service import INVENTORY_KEY

    inventory = json.loads(object_store.read_bytes(INVENTORY_KEY))
    warnings = inventory["warnings"]
    return AssetCheckResult(
        passed=not warnings,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "warnings": len(warnings),
            "examples": MetadataValue.md("\n".join(f"- {line}" for line in warnings[:EXAMPLES]) or "none"),
        },
    )
