"""The automatic update: every contributor export at 20:00 UTC, Monday to Thursday."""

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)

from platform_assets.core.database import PlatformDatabase
from platform_assets.core.hold_guards import skip_when_held
from platform_assets.core.tags import TRANSIT_TRIGGER_TAG
from platform_assets.transit.errors import TransitError
from platform_assets.transit.jobs import CONTRIBUTOR_EXPORT_JOB
from platform_assets.transit.resources import TransitSettings


@schedule(
    name="transit_automatic_update",
    cron_schedule="0 20 * * 1-4",
    execution_timezone="UTC",
    job_name=CONTRIBUTOR_EXPORT_JOB,
    default_status=DefaultScheduleStatus.RUNNING,
    description="Exports every contributor whose sources changed; coverages follow through "
    "transit_coverages_after_contributors.",
)
@skip_when_held(CONTRIBUTOR_EXPORT_JOB)
def transit_automatic_update(  # type: ignore[no-untyped-def]
    context: ScheduleEvaluationContext, database: PlatformDatabase, transit: TransitSettings
):
    try:
        catalog = transit.load_catalog()
    except TransitError as error:
        return SkipReason(f"catalog not usable: {error}")
    known = set(context.instance.get_dynamic_partitions("contributors"))
    moment = context.scheduled_execution_time.isoformat() if context.scheduled_execution_time else "manual"
    requests = [
        RunRequest(run_key=f"{contributor.id}:{moment}", partition_key=contributor.id,
                   tags={TRANSIT_TRIGGER_TAG: "automatic update"})
        for contributor in catalog.contributors
        if contributor.id in known
    ]
    return requests or SkipReason("no contributor partition yet (see sensor transit_catalog_partitions)")
