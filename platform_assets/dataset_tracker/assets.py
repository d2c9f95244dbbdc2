"""Dagster assets of the dataset tracker: the crawl (`dataset_inventory`) and the sheet (`tracker_sheet`)."""

import hashlib
import json
from pathlib import Path
from urllib.parse import urlsplit

from dagster import (
    AssetExecutionContext,
    Config,
    MaterializeResult,
    MetadataValue,
    RetryRequested,
    asset,
)
from pydantic import Field

from platform_assets.core.database import PlatformDatabase
from platform_assets.core.hold_guards import refuse_if_held
from platform_assets.core.metadata import ROW_COUNT, file_metadata, files_last
from platform_assets.core.objectstore import ObjectStore, StoredObject
from platform_assets.dataset_tracker.errors import SourceUnavailableError
from platform_assets.dataset_tracker.resources import TrackerSources
from platform_assets.dataset_tracker.sheets import TrackerSheets

GROUP = "dataset_tracker"
OWNERS = ["team:curation"]


class InventoryConfig(Config):
    sources_config: str = Field(
        default="", description="Path of the sources config; empty: the PLATFORM_SOURCES_CONFIG setting."
    )
    unavailable_retry_seconds: int = Field(
        default=60, description="Wait before the one retry when a source cannot be read (a share that blinks)."
    )


@asset(
    group_name=GROUP,
    owners=OWNERS,
    kinds={"json"},
    description="Crawl every dataset source: each accession's stage, metadata, duplicates and warnings; "
    "state changes go to the dataset_state history table.",
)
def dataset_inventory(
    context: AssetExecutionContext,
    config: InventoryConfig,
    database: PlatformDatabase,
    object_store: ObjectStore,
    tracker_sources: TrackerSources,
) -> MaterializeResult:
    from platform_assets.dataset_tracker.config import load_sources_config
    from platform_assets.dataset_tracker.service import INVENTORY_KEY, crawl_and_record, inventory_bytes

    refuse_if_held(context, database)
    config_path = Path(config.sources_config) if config.sources_config else tracker_sources.path
    sources = load_sources_config(config_path)
    try:
        outcome = crawl_and_record(sources, database.engine)
    except SourceUnavailableError as error:
        # A network share may blink: retry once; a bad config is never retried (it will not get better).
        raise RetryRequested(max_retries=1, seconds_to_wait=config.unavailable_retry_seconds) from error
    stored = object_store.put_bytes(INVENTORY_KEY, inventory_bytes(outcome.inventory), "application/json")
    result = outcome.result
    for warning in result.warnings:
        context.log.warning(warning.line())
    duplicates = result.duplicates()
    counts = result.counts_by_stage()
    context.log.info(
        f"{len(result.datasets)} accessions ({', '.join(f'{k} {v}' for k, v in counts.items())}), "
        f"{len(duplicates)} possible duplicates, {len(outcome.changes)} state changes"
    )
    metadata = {
        **file_metadata(main=stored, read=[config_path.absolute().as_uri()]),
        "accessions": len(result.datasets),
        **{f"state/{stage}": count for stage, count in counts.items()},
        "duplicates": len(duplicates),
        "warnings": len(result.warnings),
        "state_changes": len(outcome.changes),
        "metadata_files_read": result.metadata_files_read,
        "sources_config": str(config_path),
    }
    if duplicates:
        metadata["duplicate_list"] = MetadataValue.md(
            "\n".join(f"- {d.accession}: {'; '.join(d.duplicate_reasons)}" for d in duplicates[:50])
        )
    if result.warnings:
        metadata["warning_list"] = MetadataValue.md("\n".join(f"- {w.line()}" for w in result.warnings[:50]))
    return MaterializeResult(metadata=metadata)


def _local_file(uri: str) -> StoredObject | None:
    """The local workbook as a written file (uri, size, sha256) for the event log."""
    from urllib.request import url2pathname

    parts = urlsplit(uri)
    if parts.scheme != "file":
        return None
    path = Path(url2pathname(parts.path))
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1024 * 1024), b""):
            digest.update(chunk)
    return StoredObject(key=path.name, uri=uri, size=path.stat().st_size, sha256=digest.hexdigest())


@asset(
    group_name=GROUP,
    owners=OWNERS,
    kinds={"googlesheets"},
    deps=[dataset_inventory],
    description="The tracker sheet (Google Sheets or the local workbook): tracked datasets with their "
    "state, since when and the previous state; discovered external datasets. One batch write per run.",
)
def tracker_sheet(
    context: AssetExecutionContext,
    database: PlatformDatabase,
    object_store: ObjectStore,
    sheets: TrackerSheets,
) -> MaterializeResult:
    from platform_assets.dataset_tracker.report import EXTERNAL_TAB, TRACKED_TAB
    from platform_assets.dataset_tracker.service import INVENTORY_KEY, sheet_tabs

    refuse_if_held(context, database)
    inventory = json.loads(object_store.read_bytes(INVENTORY_KEY))
    tabs = sheet_tabs(inventory, database.engine)
    where = sheets.replace_tabs(tabs)
    context.log.info(f"tracker sheet written: {where}")
    workbook = _local_file(where)
    return MaterializeResult(
        metadata=files_last({
            **file_metadata(main=workbook, read=[object_store.uri(INVENTORY_KEY)]),
            "sheet": MetadataValue.url(where),
            "backend": sheets.backend,
            "tracked_rows": len(tabs[TRACKED_TAB].rows),
            ROW_COUNT: len(tabs[TRACKED_TAB].rows),
            "external_rows": len(tabs[EXTERNAL_TAB].rows),
        })
    )
