"""Optional sensor: rebuild the tracker as soon as a dataset folder appears, moves or goes."""

from dagster import (
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from platform_assets.core.alerts import SUBJECT_TAG
from platform_assets.core.database import PlatformDatabase
from platform_assets.core.holds import hold_of
from platform_assets.core.settings import load_settings
from platform_assets.dataset_tracker.config import load_sources_config
from platform_assets.dataset_tracker.crawler import folder_fingerprint
from platform_assets.dataset_tracker.jobs import dataset_tracker_job


@sensor(
    job=dataset_tracker_job,
    minimum_interval_seconds=300,
    default_status=DefaultSensorStatus.STOPPED,
    description="Runs the tracker when the accession folders of any folder source change "
    "(one directory listing per source; the schedule does the full crawl three times a day).",
)
def dataset_folders_sensor(context: SensorEvaluationContext, database: PlatformDatabase):
    hold = hold_of(database.engine, dataset_tracker_job.name)
    if hold is not None:
        return SkipReason(hold.message())
    config_path = load_settings().sources_config
    fingerprint = folder_fingerprint(load_sources_config(config_path))
    if context.cursor is None:
        # First tick: remember what is there; the schedule covers what existed before the sensor.
        return SensorResult(skip_reason=SkipReason("first look at the folders: cursor set"), cursor=fingerprint)
    if fingerprint == context.cursor:
        return SkipReason("no dataset folder appeared, moved or went")
    return SensorResult(
        run_requests=[RunRequest(run_key=f"folders-{fingerprint}", tags={SUBJECT_TAG: str(config_path)})],
        cursor=fingerprint,
    )
