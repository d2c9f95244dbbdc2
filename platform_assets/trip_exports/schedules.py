"""Schedules: daily expiry, monthly open data (last month)."""

from datetime import timedelta

from dagster import (
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    schedule,
)

from platform_assets.core.database import PlatformDatabase
from platform_assets.core.hold_guards import skip_when_held
from platform_assets.core.tags import SUBJECT_TAG
from platform_assets.trip_exports.jobs import opendata_trip_export_job, trip_export_expiry_job


@schedule(
    name="trip_export_expiry_schedule",
    job=trip_export_expiry_job,
    cron_schedule="15 3 * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Every night: scramble the recipients and delete the files of expired exports.",
)
@skip_when_held(trip_export_expiry_job.name)
def trip_export_expiry_schedule(context: ScheduleEvaluationContext, database: PlatformDatabase) -> RunRequest | SkipReason:
    day = context.scheduled_execution_time.strftime("%Y-%m-%d")
    return RunRequest(run_key=f"expiry-{day}", tags={SUBJECT_TAG: f"expiry {day}"})


def last_month_partition(context: ScheduleEvaluationContext) -> str:
    first_of_month = context.scheduled_execution_time.replace(day=1)
    return (first_of_month - timedelta(days=1)).replace(day=1).strftime("%Y-%m-%d")


@schedule(
    name="opendata_trip_export_schedule",
    job=opendata_trip_export_job,
    cron_schedule="0 5 2 * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="On the 2nd of each month: anonymise, upload and publish last month's trips.",
)
@skip_when_held(opendata_trip_export_job.name)
def opendata_trip_export_schedule(
    context: ScheduleEvaluationContext, database: PlatformDatabase
) -> RunRequest | SkipReason:
    partition = last_month_partition(context)
    return RunRequest(run_key=f"opendata-{partition[:7]}", partition_key=partition)
