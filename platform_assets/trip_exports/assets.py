"""Dagster assets of the trip-export service.

`trip_export` is partitioned by export uuid (a dynamic partition added by the sensor when it
claims the export). Why partitions rather than run config: every export then has its own
materialization history and metadata (rows, size, duration, link) in the UI, a failed export can
be re-run from its partition, the failure email names the export through the partition tag, and
the sensor's run_key (the uuid) stays the one identity across sensor, run and tables.

`trip_export` has no RetryPolicy on purpose: a failed export has already told its recipients and
the technical admins, and is re-run on request (its partition, or `export process UUID`); a run
whose worker crashed is retried by run monitoring and picks the export up where it was left.
"""

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    DynamicPartitionsDefinition,
    MaterializeResult,
    MetadataValue,
    MonthlyPartitionsDefinition,
    RetryPolicy,
    asset,
)

from platform_assets.core.alerts import PlatformInfo
from platform_assets.core.database import PlatformDatabase
from platform_assets.core.holds import ensure_not_on_hold
from platform_assets.core.mailer import Mailer
from platform_assets.core.metadata import file_metadata
from platform_assets.core.objectstore import ObjectStore
from platform_assets.core.settings import load_settings
from platform_assets.trip_exports.campaigns import load_campaign_config
from platform_assets.trip_exports.errors import TripExportError
from platform_assets.trip_exports.opendata import (
    build_opendata,
    publish_opendata,
    stats_dict,
    upload_opendata,
    verify_opendata_csv,
)
from platform_assets.trip_exports.run import run_export
from platform_assets.trip_exports.service import ExportRules, record_opendata, set_status

trip_export_partitions = DynamicPartitionsDefinition(name="trip_export")
opendata_partitions = MonthlyPartitionsDefinition(start_date="2024-01-01")


@asset(
    partitions_def=trip_export_partitions,
    group_name="trip_exports",
    kinds={"xlsx"},
    description="One requested export of carpool trips (partition = export uuid): XLSX in a zip, "
    "uploaded to the object store and mailed to its recipients as a download link.",
)
def trip_export(
    context: AssetExecutionContext,
    database: PlatformDatabase,
    object_store: ObjectStore,
    mailer: Mailer,
    platform: PlatformInfo,
) -> MaterializeResult:
    ensure_not_on_hold(database.engine, context.run.job_name, [context.asset_key.to_user_string()])
    settings = load_settings()
    export_uuid = context.partition_key
    outcome = run_export(
        database.engine,
        export_uuid,
        object_store,
        mailer,
        load_campaign_config(settings.campaign_config),
        ExportRules.from_settings(settings),
        platform=platform.deployment,
    )
    context.log.info(f"export {export_uuid}: {outcome.rows} rows -> {outcome.stored.uri}")
    return MaterializeResult(
        metadata={
            **file_metadata(main=outcome.stored),
            "export_uuid": export_uuid,
            "rows": outcome.rows,
            "duration_seconds": outcome.duration_seconds,
            "sheets": ", ".join(outcome.sheets),
            "link": MetadataValue.url(outcome.download_url),
            "recipients": len(outcome.sent_to),
        }
    )


@asset(
    partitions_def=opendata_partitions,
    group_name="trip_exports",
    kinds={"csv", "xlsx"},
    retry_policy=RetryPolicy(max_retries=1, delay=60),
    check_specs=[
        AssetCheckSpec(
            "anonymised",
            asset="opendata_trip_export",
            description="The written CSV read back: the 27 columns, times on 10-minute boundaries, "
            "coordinates with at most 3 decimals (checked before upload: a failure uploads nothing).",
        )
    ],
    description="The month's anonymised carpool trips (27 open-data columns), CSV and XLSX, uploaded "
    "and published to the open-data portal.",
)
def opendata_trip_export(
    context: AssetExecutionContext, database: PlatformDatabase, object_store: ObjectStore
) -> MaterializeResult:
    import tempfile
    from pathlib import Path

    ensure_not_on_hold(database.engine, context.run.job_name, [context.asset_key.to_user_string()])
    settings = load_settings()
    month = context.partition_key[:7]
    with tempfile.TemporaryDirectory(prefix="opendata-") as tmp:
        files = build_opendata(database.engine, month, Path(tmp))
        problems, verified = verify_opendata_csv(files.csv_path)
        if problems:
            raise TripExportError(f"open data {month} failed its anonymisation check: {'; '.join(problems)}")
        stored_csv, stored_xlsx, stored_stats = upload_opendata(object_store, files)
    portal_url = settings.value("PLATFORM_OPENDATA_PORTAL_URL")
    published = "no portal configured (PLATFORM_OPENDATA_PORTAL_URL)"
    if portal_url:
        resources = publish_opendata(
            object_store,
            month,
            portal_url,
            settings.value("PLATFORM_OPENDATA_DATASET"),
            settings.value("PLATFORM_OPENDATA_API_KEY"),
            settings.value("PLATFORM_OPENDATA_PUBLIC_URL"),
        )
        published = ", ".join(f"{r.title} {r.action}" for r in resources)
    else:
        context.log.warning(f"open data {month}: uploaded, not published: {published}")
    stats = files.stats
    record_opendata(
        database.engine, month, stats_dict(stats), [stored_csv.uri, stored_xlsx.uri], published, by=f"dagster run {context.run.run_id}"
    )
    request_uuid = context.run.tags.get("trip_exports/request")
    if request_uuid:  # asked through the API: the request is done
        set_status(database.engine, request_uuid, "success", f"published by dagster run {context.run.run_id}: {published}",
                   progress=100, stats=stats_dict(stats))
    return MaterializeResult(
        metadata={
            **file_metadata(main=stored_csv, written=[stored_xlsx, stored_stats]),
            "rows": stats.published,
            "trips_in_month": stats.trips_in_month,
            "excluded_status": stats.excluded_status,
            "dropped_small_areas": stats.dropped_small_areas,
            "xlsx": MetadataValue.url(stored_xlsx.uri),
            "published": published,
            "description": stats.description(),
        },
        check_results=[AssetCheckResult(check_name="anonymised", passed=True, metadata=verified)],
    )
