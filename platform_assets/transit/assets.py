"""Transit assets: contributor_export, coverage_export, coverage_publication (group `transit`).

Files go to the object store; each asset returns MaterializeResult metadata (file_metadata plus
checksums, validity and counts). When nothing changed an export yields no materialization (the
run log says why) and the steps downstream in the run are skipped.
"""

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagster import (
    AllPartitionMapping,
    AssetDep,
    AssetExecutionContext,
    Config,
    DynamicPartitionsDefinition,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    asset,
)
from pydantic import Field

from platform_assets.core.alerts import PlatformInfo
from platform_assets.core.database import PlatformDatabase
from platform_assets.core.failures import OUTAGES, one_line_failure
from platform_assets.core.hold_guards import refuse_if_held
from platform_assets.core.metadata import ROW_COUNT, file_metadata, files_last
from platform_assets.core.objectstore import ObjectStore
from platform_assets.transit.errors import FetchError
from platform_assets.transit.resources import TransitSettings, url_replacements
from platform_assets.transit.store import advisory_state_lock

if TYPE_CHECKING:  # the transit service loads with the first run, not with the code location
    from platform_assets.transit.service import ExportOutcome

contributors_partitions = DynamicPartitionsDefinition(name="contributors")
coverages_partitions = DynamicPartitionsDefinition(name="coverages")


class ExportConfig(Config):
    """Launchpad options of an export (manual actions)."""

    force: bool = Field(default=False, description="Export even when no input changed.")
    today: str = Field(default="", description="Pin 'today' (YYYY-MM-DD) for the validity rules; empty: PLATFORM_TRANSIT_TODAY or the real date.")


class PublicationConfig(Config):
    """Launchpad option of a publication: a rollback republishes one of the 3 kept exports."""

    version: str = Field(default="", description="Republish this kept coverage export version (a rollback); "
                         "empty: the latest. `platform-assets transit rollback COVERAGE` lists them.")


def _export_metadata(outcome: "ExportOutcome") -> dict[str, object]:
    metadata: dict[str, object] = file_metadata(
        main=outcome.main, written=outcome.written, read=outcome.read, deleted=outcome.deleted
    )
    for source in outcome.sources:
        metadata[f"source/{source.source_id}/sha256"] = source.sha256
        metadata[f"source/{source.source_id}/status"] = source.status
    for contributor_id, key in outcome.inputs.items():
        metadata[f"input/{contributor_id}"] = key
    if outcome.validity is not None:
        metadata["validity_start"] = outcome.validity.start_date.isoformat()
        metadata["validity_end"] = outcome.validity.end_date.isoformat()
    for kind, count in outcome.counts.items():
        metadata[f"{kind}_count"] = count
    if "trips" in outcome.counts:
        # Dagster's standard row count: the trips of the feed (the largest table counted; the
        # export counts agencies, routes, stops and trips, never the stop times).
        metadata[ROW_COUNT] = outcome.counts["trips"]
    metadata["reason"] = outcome.reason
    if outcome.warnings:
        metadata["warnings"] = MetadataValue.json(outcome.warnings[:50])
    return metadata


def _one_line_failure() -> AbstractContextManager[None]:
    """Platform errors as a one-line Dagster Failure; fetch, store and database outages may be retried."""
    return one_line_failure((*OUTAGES, FetchError))


def _export(
    context: AssetExecutionContext,
    config: ExportConfig,
    object_store: ObjectStore,
    database: PlatformDatabase,
    transit: TransitSettings,
    kind: str,
    export: Callable[..., Any],
) -> Iterator[MaterializeResult]:
    """The body of both export assets: export the partition's contributor or coverage if an input
    changed (or forced); yield nothing, and say so, when there is nothing new."""
    subject = context.partition_key
    with _one_line_failure(), object_store.work_folder(f"transit-{subject}-") as workdir:
        refuse_if_held(context, database)
        catalog = transit.load_catalog()
        outcome = export(
            object_store, catalog, subject, Path(workdir),
            transit.reference_today(config.today, catalog), force=config.force, log=context.log.info,
            limits=transit.limits(), lock=advisory_state_lock(database.engine, transit.state_lock()),
        )
    if not outcome.exported:
        context.log.info(f"{kind} {subject}: {outcome.reason}: no new export, nothing materialized")
        return
    saved = outcome.main.uri if outcome.main is not None else "of pass-through data sets only"
    context.log.info(f"{kind} {subject}: new export {saved} ({outcome.reason})")
    yield MaterializeResult(metadata=files_last(_export_metadata(outcome)))


OWNERS = ["team:transit"]


@asset(
    partitions_def=contributors_partitions,
    group_name="transit",
    owners=OWNERS,
    output_required=False,
    kinds={"gtfs"},
    description="A contributor's data sources fetched, preprocessed and saved as one GTFS export "
    "(only when a source changed, or forced).",
)
def contributor_export(
    context: AssetExecutionContext,
    config: ExportConfig,
    object_store: ObjectStore,
    database: PlatformDatabase,
    transit: TransitSettings,
) -> Iterator[MaterializeResult]:
    from platform_assets.transit.service import export_contributor

    yield from _export(context, config, object_store, database, transit, "contributor", export_contributor)

@asset(
    partitions_def=coverages_partitions,
    group_name="transit",
    owners=OWNERS,
    # For lineage (UI, tracking's sources): which contributors a coverage merges is catalog data,
    # so every coverage partition is drawn as depending on the contributor exports as a whole.
    deps=[AssetDep(contributor_export, partition_mapping=AllPartitionMapping())],
    output_required=False,
    kinds={"gtfs"},
    description="The latest exports of a coverage's contributors merged (ids prefixed with data_prefix) "
    "and preprocessed; only when a contributor produced a new export, or forced.",
)
def coverage_export(
    context: AssetExecutionContext,
    config: ExportConfig,
    object_store: ObjectStore,
    database: PlatformDatabase,
    transit: TransitSettings,
) -> Iterator[MaterializeResult]:
    from platform_assets.transit.service import export_coverage

    yield from _export(context, config, object_store, database, transit, "coverage", export_coverage)

@asset(
    partitions_def=coverages_partitions,
    group_name="transit",
    owners=OWNERS,
    deps=[coverage_export],
    kinds={"gtfs"},
    # Never retried, whatever the job's policy: a partial publication is not repeated blindly.
    retry_policy=RetryPolicy(max_retries=0),
    description="The latest coverage export published to every environment and platform in sequence; "
    "the first failure stops the rest. Never retried.",
)
def coverage_publication(
    context: AssetExecutionContext,
    config: PublicationConfig,
    object_store: ObjectStore,
    database: PlatformDatabase,
    transit: TransitSettings,
    platform: PlatformInfo,
) -> MaterializeResult:
    from platform_assets.transit.service import publication_history, publish_coverage

    coverage_id = context.partition_key
    with _one_line_failure(), object_store.work_folder(f"transit-publish-{coverage_id}-") as workdir:
        refuse_if_held(context, database)
        latest, publications = publish_coverage(
            object_store, transit.load_catalog(), coverage_id, Path(workdir), url_replacements(platform.data_path),
            log=context.log.info, limits=transit.limits(), version=config.version or None,
        )
    export_uri = object_store.uri(latest["keys"][0])
    rollback = bool(publication_history(object_store, coverage_id)[-1]["rollback"])
    if rollback:
        context.log.info(f"coverage {coverage_id}: rollback, export {latest['version']} republished")
    return MaterializeResult(
        metadata=files_last({
            **file_metadata(read=[object_store.uri(key) for key in latest["keys"]]),
            "export_uri": MetadataValue.url(export_uri),
            "export_sha256": latest["sha256"],
            "export_version": latest["version"],
            "rollback": rollback,
            "publications": MetadataValue.json(
                [
                    {"environment": p.environment, "sequence": p.sequence, "type": p.platform_type,
                     "protocol": p.protocol, "target": p.target}
                    for p in publications
                ]
            ),
            "publication_count": len(publications),
        })
    )
