"""The tracker sheet is rebuilt three times a day (06:00, 12:00, 18:00 UTC)."""

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    schedule,
)

from platform_assets.core.database import PlatformDatabase
from platform_assets.core.hold_guards import skip_when_held
from platform_assets.core.tags import SUBJECT_TAG
from platform_assets.dataset_tracker.jobs import DATASET_TRACKER_JOB
from platform_assets.dataset_tracker.resources import TrackerSources

TRACKER_CRON = "0 6,12,18 * * *"


@schedule(
    cron_schedule=TRACKER_CRON,
    job_name=DATASET_TRACKER_JOB,
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Crawl the dataset sources and rewrite the tracker sheet three times a day.",
)
@skip_when_held(DATASET_TRACKER_JOB)
def dataset_tracker_schedule(
    context: ScheduleEvaluationContext, database: PlatformDatabase, tracker_sources: TrackerSources
):
    scheduled = context.scheduled_execution_time
    return RunRequest(
        run_key=f"tracker-{scheduled:%Y%m%dT%H%M}" if scheduled else None,
        tags={SUBJECT_TAG: str(tracker_sources.path)},
    )
