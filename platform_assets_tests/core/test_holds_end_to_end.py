"""Issue 16, holds 2-5 end to end on the real definitions (`build_definitions`), driven the way the
daemon drives them: the schedule's run requests are launched on the instance, then the run status
sensors and the notice sensor tick. A contributor whose URL is dead fails N times (runs canceled
while queued not counted): only its partition is held, with the root cause (refused before any
asset work, with a message naming the hold; mailed once through a loopback SMTP server, the
refusal not mailed as a failure), the healthy contributor beside it keeps exporting, and a release
from the launchpad lets the dead one run again."""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    ExecuteInProcessResult,
    RunRequest,
    build_run_status_sensor_context,
    build_schedule_context,
    build_sensor_context,
    instance_for_test,
)
from dagster._core.remote_origin import InProcessCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from platform_assets.core.database import PlatformDatabase, upgrade_database
from platform_assets.core.holds import hold_of
from platform_assets.definitions import build_definitions
from platform_assets.tracking.api import tracker_for
from platform_assets_tests.servers import HttpServer, Response, SmtpServer

JOB = "transit_contributor_export"  # the process whose partitions are held
SCHEDULE = "transit_automatic_update"
MAX_FAILURES = 2  # PLATFORM_MAX_CONCURRENT_FAILURES
RUN_SENSORS = ("tracking_run_started", "tracking_run_succeeded", "tracking_run_failed",
               "tracking_run_canceled", "run_failure_email")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Daemon:
    """What the Dagster daemon does with the code location, one step at a time: schedule ticks
    whose run requests are launched on the instance, then sensor ticks with their cursors."""

    defs: Definitions
    instance: DagsterInstance
    cursors: dict[str, str | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.repository = self.defs.get_repository_def()
        self.resources = self.repository.get_top_level_resources()

    def _resources_of(self, definition: Any) -> dict[str, Any]:
        # The daemon builds only the resources a sensor or schedule takes.
        return {key: self.resources[key] for key in definition.required_resource_keys}

    def tick_sensor(self, name: str) -> Any:
        sensor_def = self.repository.get_sensor_def(name)
        with build_sensor_context(instance=self.instance, cursor=self.cursors.get(name),
                                  resources=self._resources_of(sensor_def), repository_def=self.repository,
                                  sensor_name=name) as context:
            result = sensor_def.evaluate_tick(context)
        self.cursors[name] = result.cursor
        for request in result.dynamic_partitions_requests or []:
            self.instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        return result

    def tick_run_sensors(self) -> None:
        """Each run status sensor registers every run finished since its last tick."""
        for name in RUN_SENSORS:
            self.tick_sensor(name)

    def tick_schedule(self, at: datetime) -> list[RunRequest]:
        schedule_def = self.repository.get_schedule_def(SCHEDULE)
        with build_schedule_context(instance=self.instance, scheduled_execution_time=at,
                                    resources=self._resources_of(schedule_def), repository_def=self.repository) as context:
            data = schedule_def.evaluate_tick(context)
        assert data.skip_message is None, data.skip_message
        return list(data.run_requests or [])

    def launch(self, job: str, partition: str | None = None, tags: dict[str, str] | None = None,
               run_config: dict[str, Any] | None = None) -> ExecuteInProcessResult:
        return self.repository.get_job(job).execute_in_process(
            instance=self.instance, partition_key=partition, tags=tags or {}, run_config=run_config or {},
            raise_on_error=False,
        )

    def cancel_while_queued(self, job: str, partition: str) -> str:
        """What the UI's Terminate does to a run still waiting in the run queue; returns its id."""
        origin = RemoteJobOrigin(RemoteRepositoryOrigin(InProcessCodeLocationOrigin(
            LoadableTargetOrigin(module_name="platform_assets.definitions")), "__repository__"), job)
        queued = self.instance.create_run_for_job(
            job_def=self.repository.get_job(job), status=DagsterRunStatus.QUEUED, remote_job_origin=origin,
            tags={"dagster/partition": partition},
        )
        self.instance.report_run_canceled(queued)
        # The daemon's tick would match the run by its code location, which this context has not:
        # the canceled sensor is given the run's event as the daemon gives it.
        [record] = self.instance.get_records_for_run(queued.run_id, of_type=DagsterEventType.RUN_CANCELED).records
        sensor_def = self.repository.get_sensor_def("tracking_run_canceled")
        with build_run_status_sensor_context(
            sensor_name=sensor_def.name, dagster_event=record.event_log_entry.dagster_event,
            dagster_instance=self.instance, dagster_run=self.instance.get_run_by_id(queued.run_id),
            resources=self._resources_of(sensor_def), repository_def=self.repository,
        ) as context:
            sensor_def(context)
        return queued.run_id

    def run_schedule(self, at: datetime) -> dict[str, ExecuteInProcessResult]:
        """One schedule tick: every run request launched (tagged as the daemon tags them), then the
        run status sensors tick."""
        results = {}
        for request in self.tick_schedule(at):
            tags = {**request.tags, "dagster/schedule_name": SCHEDULE}
            results[request.partition_key or ""] = self.launch(JOB, request.partition_key, tags)
        self.tick_run_sensors()
        return results


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    # A SQLite instance as the embedded default's, in memory-backed /dev/shm where there is one:
    # its run storage and event log commit on every event, and disk syncs would dominate the test.
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as folder:
        with instance_for_test(temp_dir=folder) as test_instance:
            yield test_instance


@dataclass
class World:
    daemon: Daemon
    database: PlatformDatabase
    feed_version: list[int]  # which gtfs-N.zip the healthy contributor's server answers with


@pytest.fixture
def world(platform_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, http_server: HttpServer,
          smtp: SmtpServer, shared_data: Path, instance: DagsterInstance) -> World:
    version = [1]
    http_server.route("GET", "/healthy/gtfs.zip", lambda _request: Response(
        200, (shared_data / f"gtfs/history/gtfs-{version[0]}.zip").read_bytes()))
    catalog = {
        "contributors": [
            {"id": "dead", "data_prefix": "D", "data_sources": [
                {"id": "gtfs", "input": {"type": "url", "url": f"http://127.0.0.1:{_closed_port()}/gtfs.zip"}}]},
            {"id": "healthy", "data_prefix": "H", "data_sources": [
                {"id": "gtfs", "input": {"type": "url", "url": f"{http_server.base_url}/healthy/gtfs.zip"}}]},
        ],
        "coverages": [],
    }
    catalog_path = tmp_path / "catalog.yaml"
    catalog_path.write_text(yaml.safe_dump(catalog), encoding="utf-8")
    for name, value in {
        "PLATFORM_CATALOG": str(catalog_path), "PLATFORM_TRANSIT_TODAY": "2018-01-01",
        "PLATFORM_TRANSIT_RETRY_DELAY": "0", "PLATFORM_MAX_CONCURRENT_FAILURES": str(MAX_FAILURES),
        "PLATFORM_SMTP_URL": smtp.url, "PLATFORM_ALERT_EMAILS": "ops@example.org", "PLATFORM_DEPLOYMENT": "e2e",
    }.items():
        monkeypatch.setenv(name, value)
    database = PlatformDatabase(url=f"sqlite:///{platform_env}/platform.db")  # the embedded default's
    upgrade_database(database.url)
    daemon = Daemon(build_definitions(), instance)
    daemon.tick_sensor("transit_catalog_partitions")
    assert sorted(instance.get_dynamic_partitions("contributors")) == ["dead", "healthy"]
    daemon.tick_run_sensors()  # a run status sensor's first tick only sets its cursor
    return World(daemon, database, version)


def _step_errors(result: ExecuteInProcessResult) -> list[str]:
    """Every step failure's error chain as `Class: message | Class: message ...`."""
    chains = []
    for event in result.all_events:
        if event.event_type != DagsterEventType.STEP_FAILURE:
            continue
        error, links = event.step_failure_data.error, []
        while error is not None:
            links.append(f"{error.cls_name}: {error.message.strip()}")
            error = error.cause
        chains.append(" | ".join(links))
    return chains


def _exported(result: ExecuteInProcessResult) -> bool:
    return [e.asset_key for e in result.get_asset_materialization_events()] == [AssetKey("contributor_export")]


def test_a_dead_contributor_is_held_alone_while_the_healthy_one_keeps_exporting(
    world: World, smtp: SmtpServer
) -> None:
    daemon, engine = world.daemon, world.database.engine
    tracker = tracker_for(world.database.url)
    monday = datetime(2026, 11, 2, 20, tzinfo=UTC)
    # A run of the dead contributor canceled while queued is no failure: counted, it would bring the
    # hold one week early.
    canceled = daemon.cancel_while_queued(JOB, "dead")
    assert tracker.run_by_dagster_id(canceled).status == "canceled"  # type: ignore[union-attr]
    for week in range(MAX_FAILURES):
        results = daemon.run_schedule(monday + timedelta(weeks=week))
        assert sorted(results) == ["dead", "healthy"]
        # The healthy feed is new the first week, unchanged the next (a success with no new export).
        assert results["healthy"].success and _exported(results["healthy"]) == (week == 0)
        assert not results["dead"].success
        assert (hold_of(engine, JOB, "dead") is not None) == (week == MAX_FAILURES - 1)

    # Only the dead contributor's partition is held, with its true cause.
    assert hold_of(engine, JOB) is None and hold_of(engine, JOB, "healthy") is None
    hold = hold_of(engine, JOB, "dead")
    assert hold is not None and hold.partition_key == "dead" and hold.held_by == "tracking"
    assert f"the last {MAX_FAILURES} runs of dead failed; last error: FetchError: http://127.0.0.1:" in hold.reason
    assert "cannot fetch: ConnectionError" in hold.reason and "Exceeded max_retries" not in hold.reason
    runs = sorted((run.run_number, run.partition, run.status, run.actor) for run in tracker.runs(JOB))
    actor = f"schedule:{SCHEDULE}"
    assert runs == [(1, "dead", "canceled", "user"),
                    (2, "dead", "failed", actor), (3, "healthy", "completed", actor),
                    (4, "dead", "failed", actor), (5, "healthy", "completed", actor)]
    errors = [(e.exception, e.step, e.fatal) for e in tracker.errors(JOB, partition="dead")]
    assert errors == [("FetchError", "contributor_export", True)] * MAX_FAILURES + [("RunCanceled", None, False)]

    # The hold is mailed once, on its own; each of the real failures got its failure email.
    daemon.tick_sensor("tracking_hold_notices")
    daemon.tick_sensor("tracking_hold_notices")
    mails = smtp.wait_for(MAX_FAILURES + 1)
    subjects = sorted(mail.message["Subject"] for mail in mails)
    failed = "[e2e] contributor_export [dead] failed: contributor_export: FetchError: "
    assert [subject.startswith(failed) for subject in subjects] == [True] * MAX_FAILURES + [False]
    assert subjects[-1] == f"[e2e] process {JOB} [dead] put on hold"
    body = mails[-1].message.get_content() if "put on hold" in mails[-1].message["Subject"] else ""
    assert "Partition: dead" in body and f"Last {MAX_FAILURES} errors (newest first):" in body
    assert sum("[dead] step contributor_export: FetchError: " in line for line in body.splitlines()) == MAX_FAILURES
    assert f"platform-assets process release {JOB} --partition dead --by" in body
    assert f"process_name: {JOB}, partition: dead and by:" in body

    # The next tick requests the healthy contributor only; it keeps exporting.
    world.feed_version[0] = 2
    results = daemon.run_schedule(monday + timedelta(weeks=MAX_FAILURES))
    assert list(results) == ["healthy"] and results["healthy"].success and _exported(results["healthy"])

    # A manual export of the dead contributor is refused before any asset work, naming the hold;
    # tracking records it as refused, and no failure email is sent for it. A manual export of the
    # healthy one runs.
    refused = daemon.launch(JOB, "dead", run_config={"ops": {"contributor_export": {"config": {"force": True}}}})
    manual = daemon.launch(JOB, "healthy")
    daemon.tick_run_sensors()
    daemon.tick_sensor("tracking_hold_notices")
    assert not refused.success and not refused.get_asset_materialization_events()
    [chain] = _step_errors(refused)
    assert f"ProcessOnHoldError: process '{JOB}' [dead] is on hold since" in chain and hold.reason[:80] in chain
    assert not any(e.event_type == DagsterEventType.STEP_RESTARTED for e in refused.all_events)  # not retried
    assert tracker.run_by_dagster_id(refused.run_id).status == "on hold"  # type: ignore[union-attr]
    assert manual.success and tracker.run_by_dagster_id(manual.run_id).status == "completed"  # type: ignore[union-attr]
    assert len(smtp.wait_for(MAX_FAILURES + 2, timeout=0.5)) == MAX_FAILURES + 1  # nothing new mailed
    assert tracker.get_process(JOB).consecutive_failures == 0  # the refusal is no failure

    # Released from the launchpad: mailed, and the next tick requests the dead contributor again.
    released = daemon.launch("release_process_job", run_config={"ops": {"release_process_hold": {"config": {
        "process_name": JOB, "partition": "dead", "by": "ops-ann"}}}})
    assert released.success and hold_of(engine, JOB, "dead") is None
    daemon.tick_sensor("tracking_hold_notices")
    release_mail = smtp.wait_for(MAX_FAILURES + 2)[-1]
    assert release_mail.message["Subject"] == f"[e2e] process {JOB} [dead] released"
    assert "by ops-ann" in release_mail.message.get_content()
    requests = daemon.tick_schedule(monday + timedelta(weeks=MAX_FAILURES + 1))
    assert sorted(request.partition_key for request in requests) == ["dead", "healthy"]
