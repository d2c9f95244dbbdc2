"""The one hold guard on the real definitions: a hold cannot be bypassed by launching a held
process's assets from another job (as the UI's Materialize does), and a hold may cover one
partition only, leaving the others running (issue 16, holds 1 and 2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import (
    DagsterInstance,
    RunRequest,
    SensorResult,
    build_run_status_sensor_context,
    build_sensor_context,
    instance_for_test,
    sensor,
)

from platform_assets.core.database import PlatformDatabase, upgrade_database
from platform_assets.core.hold_guards import process_of_assets, skip_when_held
from platform_assets.core.holds import Hold, hold_of, put_on_hold, release_hold
from platform_assets.core.settings import configure
from platform_assets.definitions import build_definitions
from platform_assets.tracking.api import tracker_for
from platform_assets.tracking.resources import TrackingPolicy


@pytest.fixture
def instance() -> DagsterInstance:
    with instance_for_test() as instance:
        yield instance


@pytest.fixture
def database(platform_env: Path) -> PlatformDatabase:
    database = PlatformDatabase(url=f"sqlite:///{platform_env}/platform.db")
    upgrade_database(database.url)
    return database


def _failure_message(result) -> str:  # type: ignore[no-untyped-def]
    failure = next(event for event in result.all_events if event.is_step_failure)
    error = failure.step_failure_data.error
    messages = []
    while error is not None:
        messages.append(f"{error.cls_name}: {error.message}")
        error = error.cause
    return " | ".join(messages)


def test_a_held_job_cannot_be_bypassed_by_materializing_its_assets(
    database: PlatformDatabase, instance: DagsterInstance
) -> None:
    defs = build_definitions()
    put_on_hold(database.engine, "dataset_tracker_job", "three failures in a row", by="test")
    # The UI's Materialize button launches Dagster's hidden asset job with an asset selection.
    hidden_job = defs.resolve_implicit_global_asset_job_def()
    from dagster import AssetKey

    result = hidden_job.execute_in_process(
        instance=instance, asset_selection=[AssetKey("dataset_inventory")], raise_on_error=False
    )
    assert not result.success
    message = _failure_message(result)
    assert "ProcessOnHoldError" in message and "'dataset_tracker_job' is on hold" in message
    assert "three failures in a row" in message
    assert not result.get_asset_materialization_events()  # refused before any work
    # Tracked as the daemon's failure sensor sees it: a refused run of the held process, not a
    # failure of a process named after the asset list.
    repository = defs.get_repository_def()
    with build_run_status_sensor_context(
        sensor_name="tracking_run_failed", dagster_event=result.get_run_failure_event(), dagster_instance=instance,
        dagster_run=result.dagster_run, repository_def=repository,
        resources={"database": database, "tracking": configure(TrackingPolicy)},
    ).for_run_failure() as context:
        repository.get_sensor_def("tracking_run_failed")(context)
    tracker = tracker_for(database.url)
    [refused] = tracker.runs("dataset_tracker_job")
    assert (refused.status, refused.dagster_run_id) == ("on hold", result.run_id)
    assert [status.process.name for status in tracker.processes()] == ["dataset_tracker_job"]
    # Released, the same launch runs.
    release_hold(database.engine, "dataset_tracker_job", by="test")
    assert hold_of(database.engine, "dataset_tracker_job") is None


def test_a_partition_hold_stops_that_partition_only(database: PlatformDatabase) -> None:
    put_on_hold(database.engine, "feeds_job", "dead URL", by="tracking", partition_key="alpha")
    whole = hold_of(database.engine, "feeds_job")
    assert whole is None  # the process itself may run
    alpha = hold_of(database.engine, "feeds_job", "alpha")
    assert isinstance(alpha, Hold) and alpha.partition_key == "alpha"
    assert "[alpha]" in alpha.message() and "--partition alpha" in alpha.message()
    assert hold_of(database.engine, "feeds_job", "beta") is None

    @sensor(job_name="feeds_job")
    @skip_when_held("feeds_job")
    def feeds_sensor(context, database: PlatformDatabase):  # type: ignore[no-untyped-def]
        return SensorResult(run_requests=[RunRequest(partition_key=key) for key in ("alpha", "beta")])

    result = feeds_sensor(build_sensor_context(resources={"database": database}))
    assert [request.partition_key for request in result.run_requests] == ["beta"]
    # A hold of the whole process wins over everything.
    put_on_hold(database.engine, "feeds_job", "operator pause", by="ops")
    skipped = feeds_sensor(build_sensor_context(resources={"database": database}))
    assert "operator pause" in skipped.skip_message
    assert hold_of(database.engine, "feeds_job", "beta").reason == "operator pause"  # type: ignore[union-attr]


def test_an_ad_hoc_asset_run_is_the_process_of_the_job_that_materializes_its_assets() -> None:
    jobs = {
        "transit_coverage_export": frozenset({"coverage_export", "coverage_publication"}),
        "transit_coverage_publication": frozenset({"coverage_publication"}),
        "dataset_tracker_job": frozenset({"dataset_inventory", "tracker_sheet"}),
    }
    hidden = "__ASSET_JOB"
    assert process_of_assets("nightly_job", ["anything"], jobs) == "nightly_job"  # a named job is itself
    assert process_of_assets(hidden, ["tracker_sheet"], jobs) == "dataset_tracker_job"
    # Every job covering the assets could be meant: the smallest one is.
    assert process_of_assets(hidden, ["coverage_publication"], jobs) == "transit_coverage_publication"
    assert process_of_assets(hidden, ["coverage_export", "coverage_publication"], jobs) == "transit_coverage_export"
    # Assets of one job plus an asset of none: still that job's run.
    assert process_of_assets(hidden, ["tracker_sheet", "loose_asset"], jobs) == "dataset_tracker_job"
    # Assets across jobs, or of no job: named after the assets.
    assert process_of_assets(hidden, ["tracker_sheet", "coverage_export"], jobs) == "coverage_export,tracker_sheet"
    assert process_of_assets(hidden, ["loose_asset"], jobs) == "loose_asset"
