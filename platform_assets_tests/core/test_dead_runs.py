"""Issue 18 item 11: a run a CLI command executes in its own process, killed with -9, stays STARTED
and holds its run-queue slot. A real `platform-assets transit export-contributor` is started as a
subprocess (its source a loopback server that accepts and never answers, so the run stays STARTED),
then killed with SIGKILL: the `dead_run_detection` sensor marks its run failed and Dagster's own
queued-run coordinator then starts the run that was waiting for the slot."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter, build_sensor_context
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster._daemon.run_coordinator import QueuedRunCoordinatorDaemon

from platform_assets.core.alerts import PlatformInfo
from platform_assets.core.run_liveness import ProcessOwner, dead_reason, dead_run_detection, this_process
from platform_assets.core.tags import RUN_HEARTBEAT_TAG, RUN_OWNER_TAG
from platform_assets_tests import servers
from platform_assets_tests.core.waiting_location import waiting_job
from platform_assets_tests.deploy.recording_launcher import RecordingRunLauncher

REPO = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).parent / "platform-assets"


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A loopback port that accepts connections and never answers."""
    with servers.silent_port() as url:
        yield url + "/feed.zip"


@pytest.fixture
def queued_home(tmp_path: Path, platform_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DagsterInstance]:
    """The repo's dagster.yaml (SQLite, QueuedRunCoordinator) with one run slot and a launcher that
    records what the coordinator starts."""
    config = yaml.safe_load((REPO / "dagster.yaml").read_text())
    config["run_coordinator"]["config"]["max_concurrent_runs"] = 1
    config["run_launcher"] = {"module": RecordingRunLauncher.__module__, "class": RecordingRunLauncher.__name__}
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    instance = DagsterInstance.get()
    try:
        yield instance
    finally:
        instance.dispose()


def _owned_runs(instance: DagsterInstance, status: DagsterRunStatus) -> list:  # type: ignore[type-arg]
    return [run for run in instance.get_runs(RunsFilter(statuses=[status])) if RUN_OWNER_TAG in run.tags]


def test_a_cli_run_killed_with_sigkill_is_failed_and_frees_its_queue_slot(
    queued_home: DagsterInstance, silent_server: str, tmp_path: Path
) -> None:
    instance = queued_home
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(yaml.safe_dump({"contributors": [
        {"id": "alpha", "data_prefix": "A", "data_sources": [{"id": "gtfs", "input": {"type": "url", "url": silent_server}}]}
    ]}))
    env = {**os.environ, "PLATFORM_CATALOG": str(catalog), "PYTHONPATH": str(REPO),
           "PLATFORM_RUN_HEARTBEAT_SECONDS": "1"}
    command = subprocess.Popen([str(CLI), "transit", "export-contributor", "alpha"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not _owned_runs(instance, DagsterRunStatus.STARTED):
            assert command.poll() is None, command.stderr.read().decode() if command.stderr else ""
            assert time.monotonic() < deadline, "the CLI run never started"
            time.sleep(0.1)
        (run,) = _owned_runs(instance, DagsterRunStatus.STARTED)
        assert ProcessOwner.parse(run.tags[RUN_OWNER_TAG]).pid == command.pid  # type: ignore[union-attr]
        # The command's heartbeat thread refreshes the run's heartbeat tag while the run waits.
        first_beat = int(run.tags[RUN_HEARTBEAT_TAG])
        while int(instance.get_run_by_id(run.run_id).tags[RUN_HEARTBEAT_TAG]) <= first_beat:  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "no heartbeat"
            time.sleep(0.2)

        sensor_context = build_sensor_context(instance=instance, resources={"platform": PlatformInfo()})
        # While the command lives (its source simply slow), its run is left alone.
        dead_run_detection(sensor_context)
        assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTED  # type: ignore[union-attr]
    finally:
        command.send_signal(signal.SIGKILL)
        command.wait(timeout=10)
    assert command.returncode == -signal.SIGKILL

    origin = InProcessCodeLocationOrigin(
        loadable_target_origin=LoadableTargetOrigin(
            executable_path=sys.executable, module_name="platform_assets_tests.core.waiting_location", working_directory=str(REPO)
        ),
        location_name="waiting",
    )
    with WorkspaceProcessContext(instance, InProcessWorkspaceLoadTarget(origin)) as workspace:
        request_context = workspace.create_request_context()
        remote_job = request_context.get_code_location("waiting").get_repository("__repository__").get_full_job("waiting_job")
        waiting = instance.create_run_for_job(
            job_def=waiting_job, status=DagsterRunStatus.NOT_STARTED, remote_job_origin=remote_job.get_remote_origin(),
            job_code_origin=remote_job.get_python_origin(),
        )
        instance.submit_run(waiting.run_id, request_context)
        daemon = QueuedRunCoordinatorDaemon(interval_seconds=1)
        list(daemon.run_iteration(workspace))
        # The killed command's run still counts as in progress: the one slot is taken.
        assert instance.get_run_by_id(waiting.run_id).status == DagsterRunStatus.QUEUED  # type: ignore[union-attr]

        result = dead_run_detection(sensor_context)
        assert f"{run.run_id}" in str(result.skip_message)  # type: ignore[union-attr]
        dead = instance.get_run_by_id(run.run_id)
        assert dead is not None and dead.status == DagsterRunStatus.FAILURE
        failure = instance.all_logs(run.run_id)[-1]
        assert f"its process {command.pid} on {socket.gethostname()} is gone" in (failure.message or "")

        list(daemon.run_iteration(workspace))
        assert instance.get_run_by_id(waiting.run_id).status == DagsterRunStatus.STARTING  # type: ignore[union-attr]
        launcher = instance.run_launcher
        assert isinstance(launcher, RecordingRunLauncher) and launcher.launched_run_ids == [waiting.run_id]


def test_a_run_of_another_machine_is_dead_after_four_missed_heartbeats() -> None:
    here = this_process()
    elsewhere = ProcessOwner("other-host", "boot-2", 4242, "99")
    tags = {RUN_OWNER_TAG: elsewhere.tag(), RUN_HEARTBEAT_TAG: "1000"}
    # 30 s heartbeats: alive up to 4 x 30 = 120 s after the last one, dead past it.
    assert dead_reason(tags, 30, now=1120, here=here) is None
    reason = dead_reason(tags, 30, now=1121, here=here)
    assert reason == "no heartbeat from its process 4242 on other-host for 121 s (expected every 30 s)"
    # This very process is alive; the same pid with another start time is a reused pid: dead.
    assert dead_reason({RUN_OWNER_TAG: here.tag(), RUN_HEARTBEAT_TAG: "0"}, 30, now=10**10, here=here) is None
    reused = ProcessOwner(here.host, here.boot, here.pid, str(int(here.started) + 1))
    assert dead_reason({RUN_OWNER_TAG: reused.tag()}, 30, now=0, here=here) is not None
    # Another container of this machine (same hostname and kernel, its own pids): its pid means
    # nothing here, so only its heartbeat counts; after a reboot of this machine every run is dead.
    kernel_boot = here.boot.split("/")[0]
    container = ProcessOwner(here.host, f"{kernel_boot}/4026599999", 999_999, "1")
    assert dead_reason({RUN_OWNER_TAG: container.tag(), RUN_HEARTBEAT_TAG: "1000"}, 30, now=1100, here=here) is None
    rebooted = ProcessOwner(here.host, "an-earlier-boot/4026531836", os.getpid(), here.started)
    assert dead_reason({RUN_OWNER_TAG: rebooted.tag(), RUN_HEARTBEAT_TAG: "1000"}, 30, now=1001, here=here) == (
        f"{here.host} restarted since its process {os.getpid()} started it"
    )
    # A run without the owner tag (launched by the daemon) is run monitoring's business, not ours.
    assert dead_reason({}, 30, now=10**10, here=here) is None
