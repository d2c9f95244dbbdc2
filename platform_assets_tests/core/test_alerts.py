
import pytest
from dagster import (
    DagsterInstance,
    Definitions,
    DynamicPartitionsDefinition,
    RetryPolicy,
    asset,
    build_run_status_sensor_context,
    define_asset_job,
    instance_for_test,
)
from dagster._core.storage.tags import WILL_RETRY_TAG

from platform_assets.core.alerts import PlatformInfo, run_failure_email
from platform_assets.core.database import PlatformDatabase, upgrade_database
from platform_assets.core.mailer import Mailer
from platform_assets.core.tags import ACTION_TAG
from platform_assets_tests import servers

contributors = DynamicPartitionsDefinition(name="alert_test_contributors")


class FeedFileMissing(ValueError):
    """A platform error class defined in a module, as transit's errors are."""


@asset(partitions_def=contributors)
def broken_export() -> None:
    raise FeedFileMissing("stops.txt is missing from feed.zip")


@asset(retry_policy=RetryPolicy(max_retries=1))
def flaky_fetch() -> None:
    raise ConnectionError("feeds.example.org refused the connection")


broken_job = define_asset_job("contributor_export_job", selection=[broken_export])
retried_job = define_asset_job("fetch_job", selection=[flaky_fetch], tags={ACTION_TAG: "contributor_export"})
defs = Definitions(assets=[broken_export, flaky_fetch], jobs=[broken_job, retried_job])


def failed_run(instance: DagsterInstance, job: str = "contributor_export_job"):  # type: ignore[no-untyped-def]
    instance.add_dynamic_partitions("alert_test_contributors", ["tisseo"])
    result = defs.resolve_job_def(job).execute_in_process(
        instance=instance, partition_key="tisseo" if job == "contributor_export_job" else None, raise_on_error=False
    )
    assert not result.success
    return result


@pytest.fixture(autouse=True)
def database(tmp_path) -> PlatformDatabase:  # type: ignore[no-untyped-def]
    """The platform database the alert outbox lives in."""
    global DATABASE
    DATABASE = PlatformDatabase(url=f"sqlite:///{tmp_path}/platform.db")
    upgrade_database(DATABASE.url)
    return DATABASE


DATABASE: PlatformDatabase


def evaluate(instance: DagsterInstance, result, smtp_url: str) -> None:  # type: ignore[no-untyped-def]
    failure = next(event for event in result.all_events if event.event_type_value == "PIPELINE_FAILURE")
    context = build_run_status_sensor_context(
        sensor_name="run_failure_email",
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id),
        dagster_event=failure,
        resources={
            "mailer": Mailer(smtp_url=smtp_url, sender="platform@example.org"),
            "platform": PlatformInfo(deployment="production-eu", alert_emails_text="ops@example.org"),
            "database": DATABASE,
        },
    ).for_run_failure()
    run_failure_email(context)


def test_failure_email_carries_every_field(smtp: servers.SmtpServer) -> None:
    with instance_for_test() as instance:
        result = failed_run(instance)
        evaluate(instance, result, smtp.url)
        record = instance.get_run_record_by_id(result.run_id)
    [mail] = smtp.wait_for(1)
    assert mail.recipients == ["ops@example.org"]
    # The error is named by its class alone, not by Dagster's module path of it.
    assert mail.message["Subject"] == (
        "[production-eu] contributor_export_job [tisseo] failed: "
        "broken_export: FeedFileMissing: stops.txt is missing from feed.zip"
    )
    body = mail.message.get_content()
    assert "test_alerts." not in body
    assert "Platform: production-eu" in body
    assert "Action type: contributor_export_job" in body
    assert f"Job (run) id: {result.run_id}" in body
    assert "Step: broken_export" in body
    assert "Contributor / coverage / export: tisseo" in body
    assert "FeedFileMissing: stops.txt is missing from feed.zip" in body
    from datetime import UTC, datetime

    started = datetime.fromtimestamp(record.start_time, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    ended = datetime.fromtimestamp(record.end_time, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert f"Start of execution: {started}" in body
    assert f"End of execution: {ended}" in body


def test_run_that_will_be_retried_sends_nothing(smtp: servers.SmtpServer) -> None:
    with instance_for_test() as instance:
        result = failed_run(instance)
        instance.add_run_tags(result.run_id, {WILL_RETRY_TAG: "true"})
        evaluate(instance, result, smtp.url)
    assert smtp.wait_for(1, timeout=1.0) == []


def test_an_alert_sent_while_smtp_is_down_is_delivered_when_it_is_back(database: PlatformDatabase) -> None:
    """Issue 18 case 9: the failure email of a run that failed during an SMTP outage is kept in
    the outbox and delivered, once, when the server is back."""
    from datetime import UTC, datetime, timedelta

    from dagster import build_sensor_context

    from platform_assets.core.alerts import alert_delivery
    from platform_assets.core.outbox import deliver_due, pending_alerts

    port = servers.free_port()
    mailer = Mailer(smtp_url=f"smtp://127.0.0.1:{port}", sender="platform@example.org")
    with instance_for_test() as instance:
        result = failed_run(instance)
        evaluate(instance, result, mailer.smtp_url)  # the server is down: no exception, the alert waits
        evaluate(instance, result, mailer.smtp_url)  # the same failure seen again: still one alert
    [(key, attempts, error, next_attempt)] = pending_alerts(database.engine)
    assert key == f"run-failure:{result.run_id}" and attempts == 1
    assert "PLATFORM_SMTP_URL" in (error or "") and next_attempt > datetime.now(UTC)
    # Not due yet: the delivery sensor leaves it alone.
    waiting = alert_delivery(build_sensor_context(resources={"mailer": mailer, "database": database}))
    assert "1 alert(s) waiting" in waiting.skip_message
    with servers.smtp_server() as smtp:
        mailer = Mailer(smtp_url=smtp.url, sender="platform@example.org")
        deliveries = deliver_due(database.engine, mailer.send, now=datetime.now(UTC) + timedelta(minutes=5))
        assert [delivery.error for delivery in deliveries] == [None]
        [mail] = smtp.wait_for(1)
        assert mail.message["Subject"].startswith("[production-eu] contributor_export_job [tisseo] failed")
        done = alert_delivery(build_sensor_context(resources={"mailer": mailer, "database": database}))
        assert done.skip_message == "no alert waiting"
        assert len(smtp.wait_for(2, timeout=1.0)) == 1  # never sent twice
    assert pending_alerts(database.engine) == []


def test_backoff_doubles_up_to_an_hour() -> None:
    from datetime import timedelta

    from platform_assets.core.outbox import backoff

    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff(30) == timedelta(hours=1)


def test_sensor_runs_by_default() -> None:
    from dagster import DefaultSensorStatus

    assert run_failure_email.default_status == DefaultSensorStatus.RUNNING


def test_retried_step_reports_the_real_error_and_the_action_tag(smtp: servers.SmtpServer) -> None:
    with instance_for_test() as instance:
        result = failed_run(instance, "fetch_job")
        evaluate(instance, result, smtp.url)
    [mail] = smtp.wait_for(1)
    body = mail.message.get_content()
    assert "Action type: contributor_export" in body
    assert "ConnectionError: feeds.example.org refused the connection" in body
    assert "max_retries" not in body
