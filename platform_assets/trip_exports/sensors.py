"""The sensor that turns pending exports into runs (and fails stale ones)."""

import json
from datetime import timedelta

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from platform_assets.core.alerts import PlatformInfo
from platform_assets.core.database import PlatformDatabase
from platform_assets.core.holds import skip_when_held
from platform_assets.core.tags import OPENDATA_REQUEST_TAG as REQUEST_TAG
from platform_assets.core.tags import SUBJECT_TAG
from platform_assets.trip_exports.assets import trip_export_partitions
from platform_assets.trip_exports.jobs import opendata_trip_export_job, trip_export_job
from platform_assets.trip_exports.resources import TripExportPolicy
from platform_assets.trip_exports.service import (
    claim_opendata_requests,
    claim_pending,
    fail_stale,
)

CLAIMS_PER_TICK = 20


@sensor(
    name="trip_export_sensor",
    job=trip_export_job,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Every minute: fail exports stuck past the stale timeout, claim pending exports "
    "(FOR UPDATE SKIP LOCKED on PostgreSQL) and launch one run per export.",
)
@skip_when_held(trip_export_job.name)
def trip_export_sensor(
    context: SensorEvaluationContext, database: PlatformDatabase, trip_exports: TripExportPolicy, platform: PlatformInfo
) -> SensorResult | SkipReason:
    engine = database.engine
    rules = trip_exports.rules(platform.alert_emails)
    stale = fail_stale(engine, timedelta(hours=rules.stale_hours), expiry_days=rules.expiry_days)
    for export_uuid in stale:
        context.log.warning(f"export {export_uuid} was stale: now error")
    claimed = claim_pending(engine, limit=CLAIMS_PER_TICK)
    previous = json.loads(context.cursor) if context.cursor else {}
    cursor = json.dumps({"claimed_total": previous.get("claimed_total", 0) + len(claimed),
                         "last": claimed[-1] if claimed else previous.get("last")})
    if not claimed:
        return SensorResult(skip_reason=SkipReason(f"no pending export ({len(stale)} stale failed)"), cursor=cursor)
    return SensorResult(
        run_requests=[
            RunRequest(run_key=export_uuid, partition_key=export_uuid, tags={SUBJECT_TAG: export_uuid})
            for export_uuid in claimed
        ],
        dynamic_partitions_requests=[trip_export_partitions.build_add_request(claimed)],
        cursor=cursor,
    )




@sensor(
    name="opendata_request_sensor",
    job=opendata_trip_export_job,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Every minute: launch the open-data run of months registry admins asked to publish "
    "(POST /opendata/{month}/publish writes the request).",
)
@skip_when_held(opendata_trip_export_job.name)
def opendata_request_sensor(context: SensorEvaluationContext, database: PlatformDatabase) -> SensorResult | SkipReason:
    engine = database.engine
    claimed = claim_opendata_requests(engine)
    if not claimed:
        return SkipReason("no open-data request")
    return SensorResult(
        run_requests=[
            RunRequest(run_key=f"opendata-request-{request_uuid}", partition_key=f"{month}-01",
                       tags={REQUEST_TAG: request_uuid})
            for request_uuid, month in claimed
        ]
    )
