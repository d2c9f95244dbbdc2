"""Run status sensors: every run of the code location becomes a process run, with no code in assets.

Pitfalls handled here: a run status sensor's first tick only sets its cursor (runs before it are
caught up by `process_status_report`), and a sensor that returns something stops its tick after
one run, so these return None to handle up to Dagster's per-tick limit of runs.
"""

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunStatusSensorContext,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    run_status_sensor,
    sensor,
)

from platform_assets.core.alerts import PlatformInfo
from platform_assets.core.database import PlatformDatabase
from platform_assets.core.hold_guards import assets_by_job_of
from platform_assets.core.mailer import Mailer
from platform_assets.tracking.resources import TrackingPolicy

SENSOR_INTERVAL_SECONDS = 30


def _track(context: RunStatusSensorContext, database: PlatformDatabase, tracking: TrackingPolicy) -> None:
    from platform_assets.tracking.api import tracker_for
    from platform_assets.tracking.lineage import lineage_emitter
    from platform_assets.tracking.runs import track_dagster_run

    repository = context.repository_def
    lineage = lineage_emitter(tracking.openlineage_url, tracking.deployment)
    process_run = track_dagster_run(
        tracker_for(database.url, tracking.max_concurrent_failures), context.instance, context.dagster_run,
        repository.asset_graph if repository else None, lineage=lineage, assets_by_job=assets_by_job_of(repository),
    )
    for problem in lineage.problems if lineage else []:
        context.log.warning(problem)
    context.log.info(
        f"run {context.dagster_run.run_id} -> process {process_run.process_id} run #{process_run.run_number} "
        f"({process_run.status})"
    )


@run_status_sensor(
    name="tracking_run_started",
    run_status=DagsterRunStatus.STARTED,
    description="Registers every started run of the code location as a running process run.",
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
)
def tracking_run_started(
    context: RunStatusSensorContext, database: PlatformDatabase, tracking: TrackingPolicy
) -> None:
    _track(context, database, tracking)


@run_status_sensor(
    name="tracking_run_succeeded",
    run_status=DagsterRunStatus.SUCCESS,
    description="Completes the process run of every successful run and registers the files it wrote.",
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
)
def tracking_run_succeeded(
    context: RunStatusSensorContext, database: PlatformDatabase, tracking: TrackingPolicy
) -> None:
    _track(context, database, tracking)


@run_failure_sensor(
    name="tracking_run_failed",
    description="Fails the process run of every failed run with its error; puts repeatedly failing processes on hold.",
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
)
def tracking_run_failed(
    context: RunFailureSensorContext, database: PlatformDatabase, tracking: TrackingPolicy
) -> None:
    _track(context, database, tracking)


@run_status_sensor(
    name="tracking_run_canceled",
    run_status=DagsterRunStatus.CANCELED,
    description="Fails the process run of every canceled run.",
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
)
def tracking_run_canceled(
    context: RunStatusSensorContext, database: PlatformDatabase, tracking: TrackingPolicy
) -> None:
    _track(context, database, tracking)


tracking_sensors = [tracking_run_started, tracking_run_succeeded, tracking_run_failed, tracking_run_canceled]


NOTICE_INTERVAL_SECONDS = 30


@sensor(
    name="tracking_hold_notices",
    description="Emails the operators when a process is put on hold or released (its own message, not a "
    "failed-run email) and when a process with an expected frequency is late; a notice that cannot be sent "
    "now is retried on the next tick.",
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=NOTICE_INTERVAL_SECONDS,
)
def tracking_hold_notices(
    context: SensorEvaluationContext, database: PlatformDatabase, mailer: Mailer, platform: PlatformInfo
) -> SkipReason:
    from platform_assets.tracking.api import tracker_for
    from platform_assets.tracking.notices import send_hold_notices, send_lateness_notices

    tracker = tracker_for(database.url)
    sent = send_hold_notices(tracker, mailer.send, platform.alert_emails, platform.deployment)
    late = send_lateness_notices(tracker, mailer.send, platform.alert_emails, platform.deployment)
    for line in [*sent.problems, *late.problems]:
        context.log.warning(line)
    return SkipReason(
        f"{sent.sent} hold notices sent, {len(sent.problems)} waiting; {late.sent} lateness notices sent"
    )


tracking_sensors.append(tracking_hold_notices)
