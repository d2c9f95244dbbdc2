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
from platform_assets.core.hold_guards import skip_when_held
from platform_assets.core.tags import OPENDATA_REQUEST_TAG as REQUEST_TAG
from platform_assets.core.tags import SUBJECT_TAG
from platform_assets.trip_exports.assets import trip_export_partitions
from platform_assets.trip_exports.jobs import opendata_trip_export_job, trip_export_job
from platform_assets.trip_exports.resources import TripExportPolicy

# Pending exports looked at per tick; the run_key (uuid) keeps an export from being launched twice.
REQUESTS_PER_TICK = 100


@sensor(
    name="trip_export_sensor",
    job=trip_export_job,
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description="Every minute: fail exports whose run started more than the stale timeout ago, and "
    "launch one run per pending export (run_key = uuid). The run claims the export, not the sensor.",
)
@skip_when_held(trip_export_job.name)
def trip_export_sensor(
    context: SensorEvaluationContext, database: PlatformDatabase, trip_exports: TripExportPolicy, platform: PlatformInfo
) -> SensorResult | SkipReason:
    from platform_assets.trip_exports.service import fail_stale, pending_exports

    engine = database.engine
    rules = trip_exports.rules(platform.alert_emails)
    stale = fail_stale(engine, timedelta(hours=rules.stale_hours), expiry_days=rules.expiry_days)
    for export_uuid in stale:
        context.log.warning(f"export {export_uuid} was stale: now error")
    # The cursor remembers the exports a run was asked for and that are still pending (their run
    # waits in the queue): they are not asked for again, and no id order is relied on.
    previous = json.loads(context.cursor) if context.cursor else {}
    requested = set(previous.get("requested") or [])
    still_pending = set(pending_exports(engine, limit=None)) if requested else set()
    requested &= still_pending
    claimed = pending_exports(engine, limit=REQUESTS_PER_TICK, exclude=requested)
    cursor = json.dumps({"requested": sorted(requested | set(claimed))})
    if not claimed:
        return SensorResult(
            skip_reason=SkipReason(f"no new pending export ({len(requested)} queued, {len(stale)} stale failed)"),
            cursor=cursor,
        )
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
    from platform_assets.trip_exports.service import claim_opendata_requests

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
