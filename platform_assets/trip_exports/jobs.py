"""Jobs of the trip-export service (job names are the process names holds act on)."""

from dagster import OpExecutionContext, define_asset_job, job, op

from platform_assets.core.database import PlatformDatabase
from platform_assets.core.hold_guards import refuse_if_held
from platform_assets.core.metadata import file_metadata
from platform_assets.core.objectstore import ObjectStore
from platform_assets.core.tags import SYSTEM_TAG, TRIP_EXPORTS_SYSTEM
from platform_assets.trip_exports.assets import opendata_trip_export, trip_export

trip_export_job = define_asset_job(
    "trip_export_job", selection=[trip_export], description="Process one requested trip export.",
    # The run coordinator allows two trip export runs at once (deploy/dagster.yaml).
    tags={SYSTEM_TAG: TRIP_EXPORTS_SYSTEM},
)
opendata_trip_export_job = define_asset_job(
    "opendata_trip_export_job", selection=[opendata_trip_export], description="Publish one month of open data.",
    tags={SYSTEM_TAG: TRIP_EXPORTS_SYSTEM},
)


@op(description="Scramble the recipients and delete the files of exports past their expiry date.")
def expire_trip_exports(context: OpExecutionContext, database: PlatformDatabase, object_store: ObjectStore) -> None:
    from platform_assets.trip_exports.service import expire_exports

    refuse_if_held(context, database)
    before = {info.key for info in object_store.list("trip_exports/") if not info.key.startswith("trip_exports/opendata/")}
    expired = expire_exports(database.engine, object_store)
    after = {info.key for info in object_store.list("trip_exports/")}
    deleted = sorted(before - after)
    context.log.info(f"expired {len(expired)} export(s), deleted {len(deleted)} file(s)")
    context.add_output_metadata(
        {**file_metadata(deleted=[object_store.uri(key) for key in deleted]), "expired": len(expired),
         "exports": ", ".join(expired) or "none"}
    )


@job(description="Expire finished trip exports: recipients scrambled, files deleted, status expired.")
def trip_export_expiry_job() -> None:
    expire_trip_exports()
