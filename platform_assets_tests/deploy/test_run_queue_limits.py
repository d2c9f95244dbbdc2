"""The run queue limits of deploy/dagster.yaml hold for the platform's own runs.

A PostgreSQL-backed instance built from deploy/dagster.yaml (only the run launcher swapped for one
that records and executes nothing) receives queued runs of the platform's jobs, created from run
requests resolved the way the sensor daemon resolves them; Dagster's QueuedRunCoordinatorDaemon
then decides, in-process, which ones start.
"""

import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from dagster import DagsterEvent, DagsterEventType, DagsterInstance, DagsterRunStatus, RunRequest, RunsFilter
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster._daemon.run_coordinator import QueuedRunCoordinatorDaemon

from platform_assets.core.tags import PUBLICATION_TAG, SYSTEM_TAG, TRIP_EXPORTS_SYSTEM
from platform_assets.definitions import build_definitions
from platform_assets.transit.jobs import CONTRIBUTOR_EXPORT_JOB, COVERAGE_EXPORT_JOB, COVERAGE_PUBLICATION_JOB
from platform_assets_tests import servers
from platform_assets_tests.deploy.recording_launcher import RecordingRunLauncher

defs = build_definitions()

REPO = Path(__file__).resolve().parents[2]
LOCATION = "platform_assets"


@pytest.fixture
def queued_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, platform_env: Path) -> Iterator[DagsterInstance]:
    """deploy/dagster.yaml as is (PostgreSQL, QueuedRunCoordinator and its limits), recording launcher."""
    with servers.postgres_database("pa_queue") as url:
        config = yaml.safe_load((REPO / "deploy" / "dagster.yaml").read_text())
        config["run_launcher"] = {"module": RecordingRunLauncher.__module__, "class": RecordingRunLauncher.__name__}
        home = tmp_path / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_text(yaml.safe_dump(config))
        for name, value in {
            "DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": "5432", "DAGSTER_PG_USER": "postgres",
            "DAGSTER_PG_PASSWORD": "", "DAGSTER_PG_DB": url.rsplit("/", 1)[1],
        }.items():
            monkeypatch.setenv(name, value)
        instance = DagsterInstance.from_config(str(home))
        try:
            yield instance
        finally:
            instance.dispose()


@pytest.fixture
def workspace(queued_instance: DagsterInstance) -> Iterator[WorkspaceProcessContext]:
    """The platform's code location (platform_assets.definitions), loaded in this process."""
    origin = InProcessCodeLocationOrigin(
        loadable_target_origin=LoadableTargetOrigin(
            executable_path=sys.executable, module_name="platform_assets.definitions", working_directory=str(REPO)
        ),
        location_name=LOCATION,
    )
    with WorkspaceProcessContext(queued_instance, InProcessWorkspaceLoadTarget(origin)) as context:
        yield context


def _submit(workspace: WorkspaceProcessContext, job_name: str, partition_key: str) -> DagsterRun:
    """Create and submit a run like the sensor daemon does for `RunRequest(partition_key=...)`."""
    instance = workspace.instance
    request_context = workspace.create_request_context()
    location = request_context.get_code_location(LOCATION)
    remote_job = location.get_repository("__repository__").get_full_job(job_name)
    request = RunRequest(partition_key=partition_key).with_resolved_tags_and_config(
        target_definition=defs.resolve_job_def(job_name), dynamic_partitions_requests=[],
        dynamic_partitions_store=instance,
    )
    run = instance.create_run_for_job(
        job_def=defs.resolve_job_def(job_name),
        run_config=request.run_config,
        tags={**remote_job.run_tags, **request.tags},
        status=DagsterRunStatus.NOT_STARTED,
        remote_job_origin=remote_job.get_remote_origin(),
        job_code_origin=remote_job.get_python_origin(),
    )
    return instance.submit_run(run.run_id, request_context)


def _dequeue(daemon: QueuedRunCoordinatorDaemon, workspace: WorkspaceProcessContext) -> None:
    list(daemon.run_iteration(workspace))


def _started(instance: DagsterInstance) -> list[DagsterRun]:
    return list(instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.STARTING])))


def _finish(instance: DagsterInstance, run: DagsterRun) -> None:
    success = DagsterEvent(event_type_value=DagsterEventType.RUN_SUCCESS.value, job_name=run.job_name)
    instance.report_dagster_event(success, run_id=run.run_id)


def test_one_publication_per_coverage_and_two_trip_exports_at_once(
    queued_instance: DagsterInstance, workspace: WorkspaceProcessContext
) -> None:
    instance = queued_instance
    trip_exports = [str(uuid.uuid4()) for _ in range(4)]
    instance.add_dynamic_partitions("coverages", ["idf", "lyon"])
    instance.add_dynamic_partitions("contributors", ["caltrain"])
    instance.add_dynamic_partitions("trip_export", trip_exports)

    submitted = [
        _submit(workspace, COVERAGE_EXPORT_JOB, "idf"),
        _submit(workspace, COVERAGE_PUBLICATION_JOB, "idf"),
        _submit(workspace, COVERAGE_EXPORT_JOB, "idf"),
        _submit(workspace, COVERAGE_EXPORT_JOB, "lyon"),
        _submit(workspace, COVERAGE_PUBLICATION_JOB, "lyon"),
        *(_submit(workspace, "trip_export_job", export_uuid) for export_uuid in trip_exports),
        _submit(workspace, "opendata_trip_export_job", "2026-10-01"),
        _submit(workspace, CONTRIBUTOR_EXPORT_JOB, "caltrain"),
    ]
    assert {run.status for run in submitted} == {DagsterRunStatus.QUEUED}
    # The platform set the tags the limits count, whoever requested the run.
    for run in submitted:
        if run.job_name in (COVERAGE_EXPORT_JOB, COVERAGE_PUBLICATION_JOB):
            assert run.tags[PUBLICATION_TAG] == run.tags["dagster/partition"]
        elif run.job_name in ("trip_export_job", "opendata_trip_export_job"):
            assert run.tags[SYSTEM_TAG] == TRIP_EXPORTS_SYSTEM
        else:
            assert PUBLICATION_TAG not in run.tags and SYSTEM_TAG not in run.tags

    daemon = QueuedRunCoordinatorDaemon(interval_seconds=1)
    _dequeue(daemon, workspace)
    started = _started(instance)
    launcher = instance.run_launcher
    assert isinstance(launcher, RecordingRunLauncher)
    assert sorted(launcher.launched_run_ids) == sorted(run.run_id for run in started)
    publications = Counter(run.tags.get(PUBLICATION_TAG) for run in started if PUBLICATION_TAG in run.tags)
    assert publications == {"idf": 1, "lyon": 1}
    assert sum(run.tags.get(SYSTEM_TAG) == TRIP_EXPORTS_SYSTEM for run in started) == 2
    # Runs outside the limits are not held back by them (max_concurrent_runs is 8).
    assert any(run.job_name == CONTRIBUTOR_EXPORT_JOB for run in started)
    assert len(started) == 5

    # Another tick while nothing finished starts nothing more.
    _dequeue(daemon, workspace)
    assert len(_started(instance)) == 5

    # When idf's publication run and one trip export finish, exactly one more of each starts.
    idf_run = next(run for run in started if run.tags.get(PUBLICATION_TAG) == "idf")
    trip_run = next(run for run in started if run.tags.get(SYSTEM_TAG) == TRIP_EXPORTS_SYSTEM)
    _finish(instance, idf_run)
    _finish(instance, trip_run)
    _dequeue(daemon, workspace)
    now_started = _started(instance)
    newly = [run for run in now_started if run.run_id not in {r.run_id for r in started}]
    assert len(newly) == 2
    assert Counter(run.tags.get(PUBLICATION_TAG) for run in now_started if PUBLICATION_TAG in run.tags) == {
        "idf": 1, "lyon": 1,
    }
    assert sum(run.tags.get(SYSTEM_TAG) == TRIP_EXPORTS_SYSTEM for run in now_started) == 2
    queued = instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.QUEUED]))
    assert len(queued) == len(submitted) - 5 - 2
