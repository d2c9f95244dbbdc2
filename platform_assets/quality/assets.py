"""OCDS dataset assets: `ocds_dataset` (compiled releases of one dataset folder or table) and
`ocds_filtered_dataset` (Pelican's filtered dataset); files go to the object store, never
through an IO manager."""

from pathlib import Path

from dagster import (
    AssetExecutionContext,
    Config,
    DataVersion,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    asset,
)
from pydantic import Field

from platform_assets.core.database import PlatformDatabase
from platform_assets.core.failures import one_line_failure
from platform_assets.core.hold_guards import refuse_if_held
from platform_assets.core.metadata import ROW_COUNT, file_metadata, files_last
from platform_assets.core.objectstore import ObjectStore
from platform_assets.quality.ocds.prefixes import DATASET_PREFIX, FILTERED_PREFIX
from platform_assets.quality.partitions import ocds_datasets
from platform_assets.quality.resources import OcdsSource

GROUP = "quality"
OWNERS = ["team:quality"]


class OcdsDatasetConfig(Config):
    source_root: str = Field(default="", description="Folder of dataset folders (default PLATFORM_OCDS_SOURCE).")
    source_table: str = Field(
        default="", description="Read compiled releases from this table of the platform database instead."
    )
    source_column: str = Field(default="data", description="JSON column of source_table.")
    ancestor: str = Field(default="", description="Dataset that time-based checks compare with (default: previous version).")


@asset(
    partitions_def=ocds_datasets,
    group_name=GROUP,
    owners=OWNERS,
    kinds={"json"},
    retry_policy=RetryPolicy(max_retries=1, delay=5),
    description="Compiled releases of one OCDS dataset (releases compiled by ocid), as gzipped JSON lines.",
)
def ocds_dataset(
    context: AssetExecutionContext,
    config: OcdsDatasetConfig,
    object_store: ObjectStore,
    database: PlatformDatabase,
    ocds_source: OcdsSource,
) -> MaterializeResult:
    refuse_if_held(context, database)
    with one_line_failure():  # database and object store outages retried, a bad dataset never
        return _load_dataset(context, config, object_store, database, ocds_source)


def _load_dataset(
    context: AssetExecutionContext,
    config: OcdsDatasetConfig,
    object_store: ObjectStore,
    database: PlatformDatabase,
    ocds_source: OcdsSource,
) -> MaterializeResult:
    from platform_assets.quality.ocds.dataset_store import write_dataset
    from platform_assets.quality.ocds.service import source_items

    dataset = context.partition_key
    root = Path(config.source_root) if config.source_root else ocds_source.path
    source = f"table {config.source_table}" if config.source_table else str(root / dataset)
    left_out: list[str] = []  # files (or ocids) that could not be read; the others are checked
    items = source_items(root, dataset, database.engine, config.source_table, config.source_column, left_out)
    outcome = write_dataset(object_store, dataset, items, DATASET_PREFIX, config.ancestor, source)
    manifest = outcome.manifest
    for line in left_out:
        context.log.warning(f"left out: {line}")
    if manifest.items == 0:
        context.log.warning(f"dataset {dataset!r} has no compiled release")
    context.log.info(f"{dataset}: {manifest.items} compiled releases -> {outcome.stored.uri} (changed: {outcome.changed})")
    return MaterializeResult(
        metadata=files_last({
            **file_metadata(main=outcome.stored, written=outcome.written),
            "dataset": dataset,
            "compiled_releases": manifest.items,
            ROW_COUNT: manifest.items,
            "source": source,
            "changed": outcome.changed,
            "compared_with": manifest.ancestor or manifest.previous_key or "nothing (first version)",
            "left_out": "\n".join(left_out) or "nothing",
        }),
        data_version=DataVersion(manifest.sha256),
    )


class FilterConfig(Config):
    date_from: str = Field(default="", description="Release date from (YYYY-MM-DD, inclusive).")
    date_to: str = Field(default="", description="Release date to (YYYY-MM-DD, inclusive).")
    buyer: str = Field(default="", description="Buyer id or name.")
    procuring_entity: str = Field(default="", description="Procuring entity id or name.")
    regex: str = Field(default="", description="Regular expression searched in each compiled release's JSON.")
    max_items: int = Field(default=0, description="Keep at most this many compiled releases (0: all).")


@asset(
    partitions_def=ocds_datasets,
    group_name=GROUP,
    owners=OWNERS,
    kinds={"json"},
    deps=[ocds_dataset],
    description="A filtered subset of an OCDS dataset (dates, buyer, procuring entity, regex, max items).",
)
def ocds_filtered_dataset(
    context: AssetExecutionContext, config: FilterConfig, object_store: ObjectStore, database: PlatformDatabase
) -> MaterializeResult:
    from platform_assets.quality.ocds.dataset_store import (
        dataset_key,
        read_items,
        read_manifest,
        write_dataset,
    )
    from platform_assets.quality.ocds.errors import OcdsSourceError
    from platform_assets.quality.ocds.filters import DatasetFilter

    refuse_if_held(context, database)
    dataset = context.partition_key
    dataset_filter = DatasetFilter(**config.model_dump())
    dataset_filter.validate()
    parent = read_manifest(object_store, dataset, DATASET_PREFIX)
    if parent is None:
        raise OcdsSourceError(f"dataset {dataset!r} has not been loaded: materialize ocds_dataset first")
    items = dataset_filter.apply(read_items(object_store, parent.key))
    described = ", ".join(f"{key}={value}" for key, value in config.model_dump().items() if value) or "no filter"
    outcome = write_dataset(object_store, dataset, items, FILTERED_PREFIX, "", f"{parent.key} ({described})")
    return MaterializeResult(
        metadata=files_last({
            **file_metadata(main=outcome.stored, written=outcome.written, read=[object_store.uri(dataset_key(dataset))]),
            "dataset": dataset,
            "filter": described,
            "compiled_releases": outcome.manifest.items,
            ROW_COUNT: outcome.manifest.items,
            "of": MetadataValue.int(parent.items),
        }),
        data_version=DataVersion(outcome.manifest.sha256),
    )
