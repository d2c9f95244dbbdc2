"""Jobs of the tracking system: the report refresh, and hold / release from the UI's launchpad."""

from dagster import Config, OpExecutionContext, define_asset_job, job, op
from pydantic import Field

from platform_assets.core.database import PlatformDatabase
from platform_assets.tracking.assets import process_status_report

process_status_report_job = define_asset_job(
    "process_status_report_job",
    selection=[process_status_report],
    description="Refresh the process status report.",
)


PARTITION_HELP = "Only this partition of the process (a contributor, coverage or export); empty: the whole process."


class ReleaseConfig(Config):
    process_name: str = Field(description="The process (job name) to release.")
    by: str = Field(description="Who releases it: recorded with the time.")
    partition: str = Field(default="", description=PARTITION_HELP)


class HoldConfig(Config):
    process_name: str = Field(description="The process (job name) to put on hold.")
    by: str = Field(description="Who puts it on hold: recorded with the time.")
    reason: str = Field(default="put on hold from the Dagster UI", description="Shown in every SkipReason.")
    partition: str = Field(default="", description=PARTITION_HELP)


def _where(partition: str) -> str:
    return f" [{partition}]" if partition else ""


@op(description="Release a process (or one of its partitions) on hold so its sensors and schedules run it again.")
def release_process_hold(context: OpExecutionContext, config: ReleaseConfig, database: PlatformDatabase) -> None:
    from platform_assets.tracking.api import tracker_for

    tracker_for(database.url).release(config.process_name, by=config.by, partition=config.partition or None)
    context.log.info(f"process {config.process_name}{_where(config.partition)} released by {config.by}")


@op(description="Put a process (or one of its partitions) on hold: its sensors and schedules skip it until released.")
def put_process_on_hold(context: OpExecutionContext, config: HoldConfig, database: PlatformDatabase) -> None:
    from platform_assets.tracking.api import tracker_for

    tracker = tracker_for(database.url)
    tracker.get_process(config.process_name)
    tracker.hold(config.process_name, config.reason, by=config.by, partition=config.partition or None)
    context.log.info(f"process {config.process_name}{_where(config.partition)} put on hold by {config.by}: {config.reason}")


@job(description="Release a process on hold (launchpad: give process_name and by; partition for a partition's hold).")
def release_process_job() -> None:
    release_process_hold()


@job(description="Put a process on hold (launchpad: give process_name, by and reason; partition to hold one only).")
def hold_process_job() -> None:
    put_process_on_hold()
