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

from datetime import datetime

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
from platform_assets.core.hold_guards import refuse_if_held
from platform_assets.core.mailer import Mailer
from platform_assets.core.metadata import ROW_COUNT, file_metadata, files_last
from platform_assets.core.objectstore import ObjectStore
from platform_assets.core.tags import OPENDATA_REQUEST_TAG
from platform_assets.trip_exports.errors import TripExportError
from platform_assets.trip_exports.resources import OpenDataPortal, TripExportPolicy

OWNERS = ["team:trip_exports"]
trip_export_partitions = DynamicPartitionsDefinition(name="trip_export")
# A datetime, not "2024-01-01": Dagster parses a string with strptime, whose first use compiles
# its regexes on every code-location load.
opendata_partitions = MonthlyPartitionsDefinition(start_date=datetime(2024, 1, 1))


@asset(
    partitions_def=trip_export_partitions,
    group_name="trip_exports",
    owners=OWNERS,
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
    trip_exports: TripExportPolicy,
) -> MaterializeResult:
    from platform_assets.trip_exports.run import run_export

    refuse_if_held(context, database)
    export_uuid = context.partition_key
    outcome = run_export(
        database.engine,
        export_uuid,
        object_store,
        mailer,
        trip_exports.campaigns(),
        trip_exports.rules(platform.alert_emails),
        platform=platform.deployment,
    )
    context.log.info(f"export {export_uuid}: {outcome.rows} rows -> {outcome.stored.uri}")
    return MaterializeResult(
        metadata=files_last({
            **file_metadata(main=outcome.stored),
            "export_uuid": export_uuid,
            ROW_COUNT: outcome.rows,
            "duration_seconds": outcome.duration_seconds,
            "sheets": ", ".join(outcome.sheets),
            "link": MetadataValue.url(outcome.download_url),
            "recipients": len(outcome.sent_to),
        })
    )


@asset(
    partitions_def=opendata_partitions,
    group_name="trip_exports",
    owners=OWNERS,
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
    context: AssetExecutionContext, database: PlatformDatabase, object_store: ObjectStore, opendata_portal: OpenDataPortal
) -> MaterializeResult:
    from pathlib import Path

    from platform_assets.trip_exports.opendata import (
        build_opendata,
        publish_opendata,
        stats_dict,
        upload_opendata,
        verify_opendata_csv,
    )
    from platform_assets.trip_exports.service import record_opendata, set_status

    refuse_if_held(context, database)
    month = context.partition_key[:7]
    with object_store.work_folder("opendata-") as tmp:
        files = build_opendata(database.engine, month, Path(tmp))
        problems, verified = verify_opendata_csv(files.csv_path)
        if problems:
            raise TripExportError(f"open data {month} failed its anonymisation check: {'; '.join(problems)}")
        stored_csv, stored_xlsx, stored_stats = upload_opendata(object_store, files)
    published = "no portal configured (PLATFORM_OPENDATA_PORTAL_URL)"
    if opendata_portal.url:
        resources = publish_opendata(
            object_store,
            month,
            opendata_portal.url,
            opendata_portal.dataset,
            opendata_portal.api_key,
            opendata_portal.public_url,
        )
        published = ", ".join(f"{r.title} {r.action}" for r in resources)
    else:
        context.log.warning(f"open data {month}: uploaded, not published: {published}")
    stats = files.stats
    record_opendata(
        database.engine, month, stats_dict(stats), [stored_csv.uri, stored_xlsx.uri], published, by=f"dagster run {context.run.run_id}"
    )
    request_uuid = context.run.tags.get(OPENDATA_REQUEST_TAG)
    if request_uuid:  # asked through the API: the request is done
        set_status(database.engine, request_uuid, "success", f"published by dagster run {context.run.run_id}: {published}",
                   progress=100, stats=stats_dict(stats))
    return MaterializeResult(
        metadata=files_last({
            **file_metadata(main=stored_csv, written=[stored_xlsx, stored_stats]),
            ROW_COUNT: stats.published,
            "trips_in_month": stats.trips_in_month,
            "excluded_status": stats.excluded_status,
            "dropped_small_areas": stats.dropped_small_areas,
            "xlsx": MetadataValue.url(stored_xlsx.uri),
            "published": published,
            "description": stats.description(),
        }),
        check_results=[AssetCheckResult(check_name="anonymised", passed=True, metadata=verified)],
    )
