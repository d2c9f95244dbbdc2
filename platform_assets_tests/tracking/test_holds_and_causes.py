"""Issue 16 items 3-6: the root cause of a retried failure, runs that are not failures (canceled,
skipped, refused), hold and release notices, and the Python API's guard against a second concurrent
run. No failure email for a refused run: core/test_holds_end_to_end.py, on the real definitions."""

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    ExecuteInProcessResult,
    RetryPolicy,
    asset,
    build_run_status_sensor_context,
    build_sensor_context,
    define_asset_job,
    instance_for_test,
)
from dagster._core.remote_origin import InProcessCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from platform_assets.core.alerts import PlatformInfo
from platform_assets.core.database import PlatformDatabase
from platform_assets.core.holds import hold_of
from platform_assets.core.mailer import Mailer
from platform_assets.core.settings import configure
from platform_assets.tracking.api import track_process
from platform_assets.tracking.resources import TrackingPolicy
from platform_assets.tracking.sensors import tracking_hold_notices, tracking_run_canceled, tracking_run_failed
from platform_assets.tracking.tracker import ProcessAlreadyRunningError, ProcessTracker
from platform_assets_tests import servers


class FetchError(Exception):
    """Stands for transit's FetchError: a source that cannot be fetched."""


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


DEAD_PORT = _closed_port()


@asset(retry_policy=RetryPolicy(max_retries=1, delay=0))
def dead_source() -> None:
    url = f"http://127.0.0.1:{DEAD_PORT}/feed.zip"
    try:
        socket.create_connection(("127.0.0.1", DEAD_PORT), timeout=2).close()
    except OSError as error:
        raise FetchError(f"{url}: cannot fetch: {type(error).__name__}: {error}") from error


dead_source_job = define_asset_job("dead_source_job", selection=[dead_source])
# Queued runs must say where their code lives (the daemon launches them from there).
QUEUE_ORIGIN = RemoteJobOrigin(
    RemoteRepositoryOrigin(InProcessCodeLocationOrigin(LoadableTargetOrigin(python_file=__file__)), "__repository__"),
    "dead_source_job",
)


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with instance_for_test() as test_instance:
        yield test_instance


@pytest.fixture
def resources(database_url: str) -> dict[str, Any]:
    return {"database": PlatformDatabase(url=database_url), "tracking": configure(TrackingPolicy)}


def _failure_sensor(sensor_def: Any, result: ExecuteInProcessResult, instance: DagsterInstance,
                    resources: dict[str, Any], defs: Definitions) -> None:
    with build_run_status_sensor_context(
        sensor_name=sensor_def.name, dagster_event=result.get_run_failure_event(), dagster_instance=instance,
        dagster_run=result.dagster_run, resources=resources, repository_def=defs.get_repository_def(),
    ).for_run_failure() as context:
        sensor_def(context)


def test_a_retried_failure_is_recorded_and_held_with_its_root_cause(
    instance: DagsterInstance, resources: dict[str, Any], tracker: ProcessTracker
) -> None:
    defs = Definitions(assets=[dead_source], jobs=[dead_source_job], resources=resources)
    tracker.register_process("dead_source_job", max_concurrent_failures=1)
    result = defs.resolve_job_def("dead_source_job").execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    # What Dagster itself says after the retry: only the wrapper.
    step_failure = next(e for e in result.all_events if e.event_type == DagsterEventType.STEP_FAILURE)
    assert step_failure.event_specific_data.error.message.startswith("Exceeded max_retries of 1")

    _failure_sensor(tracking_run_failed, result, instance, resources, defs)
    [error] = tracker.errors("dead_source_job")
    assert error.exception == "FetchError"
    assert error.message.startswith(f"FetchError: http://127.0.0.1:{DEAD_PORT}/feed.zip: cannot fetch: ConnectionRefusedError")
    assert "Exceeded max_retries" not in error.message
    chain = (error.detail or "").splitlines()
    assert chain[0] == "RetryRequestedFromPolicy: Exceeded max_retries of 1"
    assert chain[1].startswith("caused by FetchError: ")
    assert chain[2].startswith("caused by ConnectionRefusedError: ")
    assert "stack of FetchError:" in (error.detail or "") and "socket.create_connection" in (error.detail or "")
    hold = hold_of(tracker.engine, "dead_source_job")
    assert hold is not None and "FetchError" in hold.reason and "ConnectionRefusedError" in hold.reason
    assert "Exceeded max_retries" not in hold.message()


def test_runs_canceled_while_queued_do_not_count_toward_a_hold(
    instance: DagsterInstance, resources: dict[str, Any], tracker: ProcessTracker
) -> None:
    defs = Definitions(assets=[dead_source], jobs=[dead_source_job], resources=resources)
    job = defs.resolve_job_def("dead_source_job")
    tracker.register_process("dead_source_job", max_concurrent_failures=2)
    for _ in range(3):
        # What the UI's "Terminate" does to a run still waiting in the run queue.
        queued = instance.create_run_for_job(
            job_def=job, status=DagsterRunStatus.QUEUED, remote_job_origin=QUEUE_ORIGIN
        )
        assert instance.get_run_by_id(queued.run_id).status == DagsterRunStatus.QUEUED
        instance.report_run_canceled(queued)
        [record] = instance.get_records_for_run(queued.run_id, of_type=DagsterEventType.RUN_CANCELED).records
        with build_run_status_sensor_context(
            sensor_name=tracking_run_canceled.name, dagster_event=record.event_log_entry.dagster_event,
            dagster_instance=instance, dagster_run=instance.get_run_by_id(queued.run_id), resources=resources,
            repository_def=defs.get_repository_def(),
        ) as context:
            tracking_run_canceled(context)
    runs = tracker.runs("dead_source_job")
    assert [run.status for run in runs] == ["canceled"] * 3
    assert {e.message for e in tracker.errors("dead_source_job")} == {"the run was canceled before it started"}
    assert not any(e.fatal for e in tracker.errors("dead_source_job"))
    assert tracker.get_process("dead_source_job").consecutive_failures == 0
    assert hold_of(tracker.engine, "dead_source_job") is None
    # One real failure after them is the first one counted.
    result = job.execute_in_process(instance=instance, raise_on_error=False)
    _failure_sensor(tracking_run_failed, result, instance, resources, defs)
    assert tracker.get_process("dead_source_job").consecutive_failures == 1
    assert hold_of(tracker.engine, "dead_source_job") is None


def test_skipped_and_refused_api_runs_do_not_count(tracker: ProcessTracker, database_url: str) -> None:
    tracker.register_process("nightly_load", max_concurrent_failures=1)
    with track_process("nightly_load", database=database_url) as run:
        run.skip("no new file in the drop folder")
    with track_process("nightly_load", database=database_url):
        with pytest.raises(ProcessAlreadyRunningError):
            with track_process("nightly_load", database=database_url):
                raise AssertionError("a second concurrent run must not start")
    [refused, completed, skipped] = tracker.runs("nightly_load")
    assert (skipped.run_number, skipped.status) == (1, "skipped")
    assert (completed.run_number, completed.status) == (2, "completed")
    assert (refused.run_number, refused.status) == (3, "refused") and refused.ended_at is not None
    assert hold_of(tracker.engine, "nightly_load") is None
    assert tracker.get_process("nightly_load").consecutive_failures == 0


def test_the_api_refuses_a_second_concurrent_run_and_records_it(tracker: ProcessTracker, database_url: str) -> None:
    with track_process("crm_sync", database=database_url, type="load") as first:
        with pytest.raises(ProcessAlreadyRunningError) as refused:
            with track_process("crm_sync", database=database_url, type="load"):
                pass
        message = str(refused.value)
        assert message.startswith(f"process 'crm_sync' is already running (run #{first.run_number} since ")
        assert message.endswith("run #2 refused")
        # An explicitly concurrent tool may still run beside it.
        with track_process("crm_sync", database=database_url, allow_concurrent=True) as parallel:
            assert parallel.run_number == 3
    statuses = {run.run_number: run.status for run in tracker.runs("crm_sync")}
    assert statuses == {1: "completed", 2: "refused", 3: "completed"}
    [error] = tracker.errors("crm_sync")
    assert (error.exception, error.fatal, error.message) == ("ProcessAlreadyRunningError", False, message)
    # Once the first has ended, the next run starts.
    with track_process("crm_sync", database=database_url) as later:
        assert later.run_number == 4


def test_api_failure_keeps_the_cause_chain_as_detail(tracker: ProcessTracker, database_url: str) -> None:
    with pytest.raises(FetchError):
        with track_process("feed_pull", database=database_url):
            try:
                raise ConnectionResetError("peer reset")
            except ConnectionResetError as error:
                raise FetchError("http://feeds.example/x.zip: cannot fetch") from error
    [error] = tracker.errors("feed_pull")
    assert error.message == "FetchError: http://feeds.example/x.zip: cannot fetch"
    detail = error.detail or ""
    assert "ConnectionResetError: peer reset" in detail and "direct cause" in detail


def _notice_sensor(resources: dict[str, Any], smtp_url: str, emails: list[str]) -> str | None:
    with build_sensor_context(resources={
        **resources,
        "mailer": Mailer(smtp_url=smtp_url, sender="platform@example.org"),
        "platform": PlatformInfo(deployment="prod-eu", alert_emails_text=",".join(emails)),
    }) as context:
        return tracking_hold_notices(context).skip_message


def test_being_put_on_hold_and_released_are_each_mailed_once(
    instance: DagsterInstance, resources: dict[str, Any], tracker: ProcessTracker, smtp: servers.SmtpServer
) -> None:
    defs = Definitions(assets=[dead_source], jobs=[dead_source_job], resources=resources)
    tracker.register_process("dead_source_job", max_concurrent_failures=2)
    for _ in range(2):
        result = defs.resolve_job_def("dead_source_job").execute_in_process(instance=instance, raise_on_error=False)
        _failure_sensor(tracking_run_failed, result, instance, resources, defs)
    assert hold_of(tracker.engine, "dead_source_job") is not None
    assert _notice_sensor(resources, smtp.url, ["ops@example.org"]) == "1 hold notices sent, 0 waiting; 0 lateness notices sent"
    assert _notice_sensor(resources, smtp.url, ["ops@example.org"]) == "0 hold notices sent, 0 waiting; 0 lateness notices sent"
    [held] = smtp.wait_for(1)
    assert held.recipients == ["ops@example.org"]
    assert held.message["Subject"] == "[prod-eu] process dead_source_job put on hold"
    body = held.message.get_content()
    assert "Process: dead_source_job" in body and "Partition: all (the whole process)" in body
    assert "Last 2 errors (newest first):" in body
    error_lines = [line for line in body.splitlines() if line.startswith("  - ") and "FetchError" in line]
    assert len(error_lines) == 2 and all("step dead_source" in line for line in error_lines)
    assert "run #2" in error_lines[0] and "run #1" in error_lines[1]
    assert "platform-assets process release dead_source_job" in body and "release_process_job" in body

    tracker.release("dead_source_job", by="ops-ann")
    assert _notice_sensor(resources, smtp.url, ["ops@example.org"]) == "1 hold notices sent, 0 waiting; 0 lateness notices sent"
    [_, released] = smtp.wait_for(2)
    assert released.message["Subject"] == "[prod-eu] process dead_source_job released"
    assert "by ops-ann" in released.message.get_content()


def test_a_notice_waits_while_the_mail_server_is_down(
    resources: dict[str, Any], tracker: ProcessTracker, smtp: servers.SmtpServer
) -> None:
    tracker.register_process("orders_load")
    tracker.hold("orders_load", "supplier outage", by="ops-bob")
    down = f"smtp://127.0.0.1:{_closed_port()}"
    message = _notice_sensor(resources, down, ["ops@example.org"])
    assert message == "0 hold notices sent, 1 waiting; 0 lateness notices sent"
    assert _notice_sensor(resources, smtp.url, ["ops@example.org"]) == "1 hold notices sent, 0 waiting; 0 lateness notices sent"
    [mail] = smtp.wait_for(1)
    assert "Reason: supplier outage" in mail.message.get_content()
    assert "No error recorded." in mail.message.get_content()


def test_a_process_not_run_within_its_expected_frequency_is_mailed_once(
    instance: DagsterInstance, resources: dict[str, Any], tracker: ProcessTracker
) -> None:
    from datetime import UTC, timedelta

    from platform_assets.tracking.notices import send_lateness_notices
    from platform_assets.tracking.runs import EXPECTED_EVERY_TAG, parse_every
    from platform_assets.tracking.sensors import tracking_run_succeeded

    @asset
    def nightly_feed() -> None:
        pass

    nightly_job = define_asset_job("nightly_feed_job", selection=[nightly_feed], tags={EXPECTED_EVERY_TAG: "6h"})
    defs = Definitions(assets=[nightly_feed], jobs=[nightly_job], resources=resources)
    result = defs.resolve_job_def("nightly_feed_job").execute_in_process(instance=instance)
    with build_run_status_sensor_context(
        sensor_name=tracking_run_succeeded.name, dagster_event=result.get_run_success_event(),
        dagster_instance=instance, dagster_run=result.dagster_run, resources=resources,
        repository_def=defs.get_repository_def(),
    ) as context:
        tracking_run_succeeded(context)
    assert tracker.get_process("nightly_feed_job").expected_every_seconds == 6 * 3600 == parse_every("6h")
    [run] = tracker.runs("nightly_feed_job")
    started = run.started_at if run.started_at.tzinfo else run.started_at.replace(tzinfo=UTC)
    mails: list[tuple[str, str]] = []

    def send(to: Any, subject: str, body: str) -> str:
        mails.append((subject, body))
        return "memory"

    within = send_lateness_notices(tracker, send, ["ops@example.org"], "prod-eu", now=started + timedelta(hours=5))
    assert within.sent == 0
    late_at = started + timedelta(hours=7)
    assert send_lateness_notices(tracker, send, ["ops@example.org"], "prod-eu", now=late_at).sent == 1
    assert send_lateness_notices(tracker, send, ["ops@example.org"], "prod-eu", now=late_at).sent == 0  # once
    subject, body = mails[0]
    assert subject.startswith("[prod-eu] process nightly_feed_job is late: no run since ")
    assert "Expected: a run at least every 6:00:00" in body
    due = (started + timedelta(hours=6)).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert f"Next run was due by: {due}" in body
    # A new run clears it: the next lateness is told again.
    tracker.complete_run(tracker.start_run("nightly_feed_job", started_at=late_at).id)
    assert send_lateness_notices(tracker, send, ["ops@example.org"], "prod-eu", now=late_at + timedelta(hours=7)).sent == 1
    # A held process is not "late": its hold was told on its own.
    tracker.hold("nightly_feed_job", "maintenance", by="ops")
    assert tracker.late_processes(late_at + timedelta(days=3)) == []
