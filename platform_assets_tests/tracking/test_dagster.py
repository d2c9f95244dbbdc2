"""The Dagster layer: run status sensors register real runs; failures put a process on hold; a
sensor asking core.holds skips it until release; the status report catches up and reports."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from dagster import (
    AssetExecutionContext,
    DagsterEventType,
    DagsterInstance,
    DailyPartitionsDefinition,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    Definitions,
    ExecuteInProcessResult,
    MaterializeResult,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    asset,
    build_run_status_sensor_context,
    build_schedule_context,
    build_sensor_context,
    define_asset_job,
    instance_for_test,
    materialize,
    sensor,
)
from dagster._core.storage.tags import WILL_RETRY_TAG

from platform_assets.core.database import PlatformDatabase
from platform_assets.core.holds import ensure_not_on_hold, hold_of
from platform_assets.core.metadata import file_metadata
from platform_assets.core.objectstore import LocalObjectStore, ObjectStore
from platform_assets.core.settings import configure
from platform_assets.tracking.assets import process_status_report
from platform_assets.tracking.defs import tracking_definitions
from platform_assets.tracking.resources import TrackingPolicy
from platform_assets.tracking.schedules import process_status_report_schedule
from platform_assets.tracking.sensors import tracking_run_failed, tracking_run_started, tracking_run_succeeded
from platform_assets.tracking.tracker import ProcessTracker


@asset(kinds={"csv"})
def raw_trips() -> None:
    """An upstream the test never materializes: it only gives trip_summary a source."""


@asset(deps=[raw_trips], kinds={"s3", "csv"})
def trip_summary(object_store: ObjectStore) -> MaterializeResult:
    stored = object_store.put_bytes("summaries/trip_summary.csv", b"day,trips\n2026-11-23,42\n")
    read = [object_store.uri("raw/trips.csv")]
    return MaterializeResult(
        metadata={**file_metadata(main=stored, read=read), "dagster/row_count": 1, "records_read": 42}
    )


@asset(deps=[raw_trips], partitions_def=DailyPartitionsDefinition(start_date="2026-11-01"))
def daily_counts() -> MaterializeResult:
    return MaterializeResult(metadata={"dagster/row_count": 5})


@asset
def flaky_feed() -> None:
    raise ValueError("feed.csv: column 'stop_id' is missing")


flaky_job = define_asset_job("flaky_job", selection=[flaky_feed])


@asset
def guarded_feed(context: AssetExecutionContext, database: PlatformDatabase) -> None:
    ensure_not_on_hold(database.engine, context.run.job_name, [key.to_user_string() for key in context.selected_asset_keys])


guarded_job = define_asset_job("guarded_job", selection=[guarded_feed])


@sensor(job=flaky_job)
def flaky_feed_sensor(context: SensorEvaluationContext, database: PlatformDatabase) -> RunRequest | SkipReason:
    """What every platform sensor does (the transit one included): ask the hold first."""
    hold = hold_of(database.engine, flaky_job.name)
    if hold is not None:
        return SkipReason(hold.message())
    return RunRequest(run_key="feed-v2")


@pytest.fixture(scope="module")
def instance() -> Iterator[DagsterInstance]:
    """One Dagster instance for the module (each test looks only at its own runs; tracking
    tables are emptied per test)."""
    with instance_for_test() as test_instance:
        yield test_instance


@pytest.fixture
def fresh_instance() -> Iterator[DagsterInstance]:
    """For tests that read every run of the instance."""
    with instance_for_test() as test_instance:
        yield test_instance


@pytest.fixture
def resources(database_url: str, tmp_path: Path) -> dict[str, Any]:
    return {
        "database": PlatformDatabase(url=database_url),
        "object_store": LocalObjectStore(local_dir=str(tmp_path / "objects")),
        "tracking": configure(TrackingPolicy, resolve=True),
    }


def _event(result: ExecuteInProcessResult, event_type: DagsterEventType) -> Any:
    return next(event for event in result.all_events if event.event_type == event_type)


def _evaluate(sensor_def: Any, result: ExecuteInProcessResult, event_type: DagsterEventType,
              instance: DagsterInstance, resources: dict[str, Any], defs: Definitions) -> None:
    with build_run_status_sensor_context(
        sensor_name=sensor_def.name,
        dagster_event=_event(result, event_type),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        resources=resources,
        repository_def=defs.get_repository_def(),
    ) as context:
        if event_type != DagsterEventType.RUN_FAILURE:
            sensor_def(context)
            return
        with context.for_run_failure() as failure_context:
            sensor_def(failure_context)


def test_a_materialization_run_is_registered_through_the_sensors(
    instance: DagsterInstance, resources: dict[str, Any], tracker: ProcessTracker, tmp_path: Path
) -> None:
    defs = Definitions(assets=[raw_trips, trip_summary], resources=resources)
    result = materialize([raw_trips, trip_summary], selection=[trip_summary], instance=instance,
                         resources=resources, tags={"dagster/sensor_name": "trips_sensor"})
    assert result.success
    _evaluate(tracking_run_started, result, DagsterEventType.RUN_START, instance, resources, defs)
    _evaluate(tracking_run_succeeded, result, DagsterEventType.RUN_SUCCESS, instance, resources, defs)
    _evaluate(tracking_run_succeeded, result, DagsterEventType.RUN_SUCCESS, instance, resources, defs)

    process = tracker.get_process("trip_summary")
    assert (process.tool, process.type) == ("dagster", "transform")
    assert [s.name for s in process.sources] == ["raw_trips"]
    assert [(t.name, t.kind) for t in process.targets] == [("trip_summary", "csv,s3")]
    [run] = tracker.runs("trip_summary")
    assert (run.status, run.actor, run.dagster_run_id) == ("completed", "sensor:trips_sensor", result.run_id)
    assert (run.records_read, run.records_written) == (42, 1) and run.ended_at is not None and run.run_number == 1
    objects = (tmp_path / "objects").absolute().as_uri() + "/"
    written = tracker.find_extract("trip_summary.csv", objects + "summaries/")
    assert written is not None and written.status == "ready" and written.written_by_run_id == run.id
    assert written.size == len(b"day,trips\n2026-11-23,42\n") and len(written.checksum or "") == 64
    read = tracker.find_extract("trips.csv", objects + "raw/")
    assert read is not None and read.status == "loaded" and [r.id for r in read.read_by] == [run.id]


def test_five_failures_hold_the_process_its_sensor_skips_and_release_resumes(
    instance: DagsterInstance, resources: dict[str, Any], tracker: ProcessTracker
) -> None:
    defs = Definitions(assets=[flaky_feed], jobs=[flaky_job], sensors=[flaky_feed_sensor], resources=resources)
    job = defs.resolve_job_def("flaky_job")
    sensor_context = build_sensor_context(instance=instance, resources=resources).__enter__()
    assert isinstance(flaky_feed_sensor(sensor_context), RunRequest)
    for _ in range(5):
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        _evaluate(tracking_run_failed, result, DagsterEventType.RUN_FAILURE, instance, resources, defs)

    runs = tracker.runs("flaky_job")
    assert [run.status for run in runs] == ["failed"] * 5
    errors = tracker.errors("flaky_job")
    assert len(errors) == 5
    assert {(e.type, e.exception, e.fatal, e.step) for e in errors} == {("data", "ValueError", True, "flaky_feed")}
    assert errors[0].message == "ValueError: feed.csv: column 'stop_id' is missing"
    hold = hold_of(tracker.engine, "flaky_job")
    assert hold is not None and hold.held_by == "tracking"

    skipped = flaky_feed_sensor(sensor_context)
    assert isinstance(skipped, SkipReason)
    assert skipped.skip_message == hold.message()
    assert "flaky_job" in skipped.skip_message and "process release flaky_job" in skipped.skip_message

    tracker.release("flaky_job", by="ops-ann")
    assert isinstance(flaky_feed_sensor(sensor_context), RunRequest)


def test_attempts_dagster_will_retry_are_recorded_but_do_not_hold_the_process(
    instance: DagsterInstance, resources: dict[str, Any], tracker: ProcessTracker
) -> None:
    defs = Definitions(assets=[flaky_feed], jobs=[flaky_job], resources=resources)
    job = defs.resolve_job_def("flaky_job")
    # Run retries (deploy/dagster.yaml: crashed run workers only) tag a failed attempt that will be
    # retried with dagster/will_retry=true before its failure is stored.
    for _ in range(5):
        result = job.execute_in_process(instance=instance, raise_on_error=False, tags={WILL_RETRY_TAG: "true"})
        _evaluate(tracking_run_failed, result, DagsterEventType.RUN_FAILURE, instance, resources, defs)
    assert [run.status for run in tracker.runs("flaky_job")] == ["failed"] * 5
    assert {error.message for error in tracker.errors("flaky_job")} == {
        "ValueError: feed.csv: column 'stop_id' is missing (Dagster retries the run)"
    }
    assert hold_of(tracker.engine, "flaky_job") is None
    assert tracker.get_process("flaky_job").consecutive_failures == 0

    # Failures for good still count: the fifth puts the hold.
    for attempt in range(5):
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        _evaluate(tracking_run_failed, result, DagsterEventType.RUN_FAILURE, instance, resources, defs)
        assert (hold_of(tracker.engine, "flaky_job") is not None) == (attempt == 4)


def test_a_manual_launch_of_a_held_process_is_refused_not_failed(
    instance: DagsterInstance, resources: dict[str, Any], tracker: ProcessTracker
) -> None:
    defs = Definitions(assets=[guarded_feed], jobs=[guarded_job], resources=resources)
    tracker.register_process("guarded_job", max_concurrent_failures=1)
    tracker.hold("guarded_job", "supplier outage", by="ops-bob")
    result = defs.resolve_job_def("guarded_job").execute_in_process(
        instance=instance, resources=resources, raise_on_error=False
    )
    assert not result.success
    _evaluate(tracking_run_failed, result, DagsterEventType.RUN_FAILURE, instance, resources, defs)
    [run] = tracker.runs("guarded_job")
    assert run.status == "on hold"
    [error] = tracker.errors("guarded_job")
    assert error.exception == "ProcessOnHoldError" and "supplier outage" in error.message and not error.fatal
    assert tracker.get_process("guarded_job").consecutive_failures == 0


def test_status_report_catches_up_unseen_runs_and_shows_holds(
    fresh_instance: DagsterInstance, resources: dict[str, Any], tracker: ProcessTracker
) -> None:
    instance = fresh_instance
    assert materialize([raw_trips, trip_summary], selection=[trip_summary], instance=instance,
                       resources=resources).success
    tracker.register_process("nightly_load", type="load")
    tracker.hold("nightly_load", "warehouse migration", by="ops-ann")
    everything = [raw_trips, trip_summary, process_status_report]
    result = materialize(everything, selection=[process_status_report], instance=instance, resources=resources)
    assert result.success
    [run] = tracker.runs("trip_summary")
    assert run.status == "completed" and run.dagster_run_id is not None
    metadata = result.asset_materializations_for_node("process_status_report")[0].metadata
    assert metadata["processes"].value == 2 and metadata["on_hold"].value == 1
    assert metadata["held_processes"].value == "nightly_load"
    report = metadata["report"].value
    assert "| nightly_load | load | python | **on hold** |" in report and "warehouse migration" in report
    [trip_row] = [line for line in report.splitlines() if line.startswith("| trip_summary |")]
    assert "| dagster | **completed** | #1 completed" in trip_row
    assert metadata["uri"].value.endswith("reports/process_status.md")


def test_sensor_ticks_first_set_the_cursor_then_register_several_runs_per_tick(
    instance: DagsterInstance, resources: dict[str, Any], tracker: ProcessTracker
) -> None:
    defs = Definitions(assets=[raw_trips, daily_counts], resources=resources)
    every = [raw_trips, daily_counts]

    def count(day: str) -> None:
        assert materialize(every, selection=[daily_counts], partition_key=day, instance=instance,
                           resources=resources, tags={"dagster/schedule_name": "nightly"}).success

    def tick(cursor: str | None) -> Any:
        with build_sensor_context(instance=instance, resources=resources, cursor=cursor,
                                  repository_def=defs.get_repository_def()) as context:
            return tracking_run_succeeded.evaluate_tick(context)

    count("2026-11-19")  # before the sensor's first tick: never reported to it (Dagster's rule)
    first = tick(None)
    assert first.skip_message.startswith("Initiating") and first.cursor
    for day in ("2026-11-20", "2026-11-21"):
        count(day)
    second = tick(first.cursor)
    runs = tracker.runs("daily_counts")
    assert [(run.run_number, run.partition) for run in runs] == [(2, "2026-11-21"), (1, "2026-11-20")]
    assert {(run.status, run.actor, run.records_written) for run in runs} == {("completed", "schedule:nightly", 5)}
    assert [s.name for s in tracker.get_process("daily_counts").sources] == ["raw_trips"]
    third = tick(second.cursor)
    assert len(tracker.runs("daily_counts")) == 2 and third.cursor == second.cursor


def test_hold_and_release_from_the_launchpad(
    instance: DagsterInstance, resources: dict[str, Any], tracker: ProcessTracker
) -> None:
    defs = Definitions.merge(tracking_definitions(with_resources=False), Definitions(resources=resources))
    tracker.register_process("feeds_job")

    def launch(job_name: str, config: dict[str, Any]) -> ExecuteInProcessResult:
        op_name = {"hold_process_job": "put_process_on_hold", "release_process_job": "release_process_hold"}[job_name]
        return defs.resolve_job_def(job_name).execute_in_process(
            instance=instance, run_config={"ops": {op_name: {"config": config}}}, raise_on_error=False
        )

    assert launch("hold_process_job", {"process_name": "feeds_job", "by": "ops-ann", "reason": "bad feed"}).success
    hold = hold_of(tracker.engine, "feeds_job")
    assert hold is not None and (hold.reason, hold.held_by) == ("bad feed", "ops-ann")
    assert launch("release_process_job", {"process_name": "feeds_job", "by": "ops-bob"}).success
    assert hold_of(tracker.engine, "feeds_job") is None
    assert [(e.action, e.by) for e in tracker.hold_events("feeds_job")] == [("held", "ops-ann"), ("released", "ops-bob")]
    refused = launch("release_process_job", {"process_name": "feeds_job", "by": "ops-bob"})
    assert not refused.success
    with build_run_status_sensor_context(
        sensor_name=tracking_run_failed.name, dagster_event=refused.get_run_failure_event(),
        dagster_instance=instance, dagster_run=refused.dagster_run, resources=resources,
    ).for_run_failure() as context:
        tracking_run_failed(context)
    assert tracker.get_process("release_process_job").type == "other"
    [error] = tracker.errors("release_process_job")
    assert error.message == "TrackingError: process 'feeds_job' is not on hold"


def test_report_schedule_skips_while_its_process_is_held(resources: dict[str, Any], tracker: ProcessTracker) -> None:
    with build_schedule_context(resources=resources, scheduled_execution_time=datetime(2026, 11, 23, 20, 15, tzinfo=UTC)) as context:
        assert isinstance(process_status_report_schedule(context), RunRequest)
        tracker.register_process("process_status_report_job")
        tracker.hold("process_status_report_job", "report rework", by="ops-ann")
        skipped = process_status_report_schedule(context)
    assert isinstance(skipped, SkipReason) and "report rework" in (skipped.skip_message or "")


def test_tracking_definitions_load_and_their_sensors_run_by_default() -> None:
    from platform_assets.definitions import build_definitions

    defs = build_definitions()

    Definitions.validate_loadable(defs)
    repository = defs.get_repository_def()
    for name in ("tracking_run_started", "tracking_run_succeeded", "tracking_run_failed", "tracking_run_canceled"):
        assert repository.get_sensor_def(name).default_status == DefaultSensorStatus.RUNNING
    schedule = repository.get_schedule_def("process_status_report_schedule")
    assert schedule.default_status == DefaultScheduleStatus.RUNNING
    assert repository.get_job("process_status_report_job") is not None
