"""The tracker sheet is rebuilt three times a day (06:00, 12:00, 18:00 UTC)."""

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)

from platform_assets.core.alerts import SUBJECT_TAG
from platform_assets.core.database import PlatformDatabase
from platform_assets.core.holds import hold_of
from platform_assets.core.settings import load_settings
from platform_assets.dataset_tracker.jobs import dataset_tracker_job

TRACKER_CRON = "0 6,12,18 * * *"


@schedule(
    cron_schedule=TRACKER_CRON,
    job=dataset_tracker_job,
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Crawl the dataset sources and rewrite the tracker sheet three times a day.",
)
def dataset_tracker_schedule(context: ScheduleEvaluationContext, database: PlatformDatabase):
    hold = hold_of(database.engine, dataset_tracker_job.name)
    if hold is not None:
        return SkipReason(hold.message())
    scheduled = context.scheduled_execution_time
    return RunRequest(
        run_key=f"tracker-{scheduled:%Y%m%dT%H%M}" if scheduled else None,
        tags={SUBJECT_TAG: str(load_settings().sources_config)},
    )
