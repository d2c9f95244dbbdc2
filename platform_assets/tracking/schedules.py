"""The status report's refresh schedule (it skips while its own process is on hold)."""

from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, SkipReason, schedule

from platform_assets.core.database import PlatformDatabase
from platform_assets.core.hold_guards import skip_when_held
from platform_assets.tracking.jobs import process_status_report_job

REPORT_CRON = "*/15 * * * *"


@schedule(
    name="process_status_report_schedule",
    job=process_status_report_job,
    cron_schedule=REPORT_CRON,
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Refresh process_status_report every 15 minutes.",
)
@skip_when_held(process_status_report_job.name)
def process_status_report_schedule(
    context: ScheduleEvaluationContext, database: PlatformDatabase
) -> RunRequest | SkipReason:
    return RunRequest(run_key=context.scheduled_execution_time.isoformat() if context.scheduled_execution_time else None)
