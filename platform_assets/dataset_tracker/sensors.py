"""Optional sensor: rebuild the tracker as soon as a dataset folder appears, moves or goes."""

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from platform_assets.core.database import PlatformDatabase
from platform_assets.core.hold_guards import skip_when_held
from platform_assets.core.tags import SUBJECT_TAG
from platform_assets.dataset_tracker.jobs import DATASET_TRACKER_JOB
from platform_assets.dataset_tracker.resources import TrackerSources


@sensor(
    job_name=DATASET_TRACKER_JOB,
    minimum_interval_seconds=300,
    default_status=DefaultSensorStatus.STOPPED,
    description="Runs the tracker when the accession folders of any folder source change "
    "(one directory listing per source; the schedule does the full crawl three times a day).",
)
@skip_when_held(DATASET_TRACKER_JOB)
def dataset_folders_sensor(context: SensorEvaluationContext, database: PlatformDatabase, tracker_sources: TrackerSources):
    from platform_assets.dataset_tracker.crawler import folder_fingerprint

    config_path = tracker_sources.path
    fingerprint = folder_fingerprint(tracker_sources.load())
    if context.cursor is None:
        # First tick: remember what is there; the schedule covers what existed before the sensor.
        return SensorResult(skip_reason=SkipReason("first look at the folders: cursor set"), cursor=fingerprint)
    if fingerprint == context.cursor:
        return SkipReason("no dataset folder appeared, moved or went")
    return SensorResult(
        run_requests=[RunRequest(run_key=f"folders-{fingerprint}", tags={SUBJECT_TAG: str(config_path)})],
        cursor=fingerprint,
    )
