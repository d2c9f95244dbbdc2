"""The automatic update: every contributor export at 20:00 UTC, Monday to Thursday."""

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)

from platform_assets.core.database import PlatformDatabase
from platform_assets.core.holds import hold_of
from platform_assets.transit.errors import TransitError
from platform_assets.transit.jobs import CONTRIBUTOR_EXPORT_JOB
from platform_assets.transit.runtime import current_catalog


@schedule(
    name="transit_automatic_update",
    cron_schedule="0 20 * * 1-4",
    execution_timezone="UTC",
    job_name=CONTRIBUTOR_EXPORT_JOB,
    default_status=DefaultScheduleStatus.RUNNING,
    description="Exports every contributor whose sources changed; coverages follow through "
    "transit_coverages_after_contributors.",
)
def transit_automatic_update(context: ScheduleEvaluationContext, database: PlatformDatabase):  # type: ignore[no-untyped-def]
    hold = hold_of(database.engine, CONTRIBUTOR_EXPORT_JOB)
    if hold is not None:
        return SkipReason(hold.message())
    try:
        catalog = current_catalog()
    except TransitError as error:
        return SkipReason(f"catalog not usable: {error}")
    known = set(context.instance.get_dynamic_partitions("contributors"))
    moment = context.scheduled_execution_time.isoformat() if context.scheduled_execution_time else "manual"
    requests = [
        RunRequest(run_key=f"{contributor.id}:{moment}", partition_key=contributor.id,
                   tags={"transit/trigger": "automatic update"})
        for contributor in catalog.contributors
        if contributor.id in known
    ]
    return requests or SkipReason("no contributor partition yet (see sensor transit_catalog_partitions)")
