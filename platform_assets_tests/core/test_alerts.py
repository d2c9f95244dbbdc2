
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

from platform_assets.core.alerts import ACTION_TAG, PlatformInfo, run_failure_email
from platform_assets.core.mailer import Mailer
from platform_assets_tests import servers

contributors = DynamicPartitionsDefinition(name="alert_test_contributors")


@asset(partitions_def=contributors)
def broken_export() -> None:
    raise ValueError("stops.txt is missing from feed.zip")


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


def evaluate(instance: DagsterInstance, result, smtp_url: str) -> None:  # type: ignore[no-untyped-def]
    failure = next(event for event in result.all_events if event.event_type_value == "PIPELINE_FAILURE")
    context = build_run_status_sensor_context(
        sensor_name="run_failure_email",
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id),
        dagster_event=failure,
        resources={
            "mailer": Mailer(smtp_url=smtp_url, sender="platform@example.org"),
            "platform": PlatformInfo(deployment="production-eu", alert_emails=["ops@example.org"]),
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
    assert mail.message["Subject"].startswith("[production-eu] contributor_export_job [tisseo] failed")
    body = mail.message.get_content()
    assert "Platform: production-eu" in body
    assert "Action type: contributor_export_job" in body
    assert f"Job (run) id: {result.run_id}" in body
    assert "Step: broken_export" in body
    assert "Contributor / coverage / export: tisseo" in body
    assert "ValueError: stops.txt is missing from feed.zip" in body
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


def test_undeliverable_alert_fails_the_tick_loudly() -> None:
    from platform_assets.core.errors import MailDeliveryError

    with instance_for_test() as instance:
        result = failed_run(instance)
        with pytest.raises(MailDeliveryError, match="PLATFORM_SMTP_URL"):
            evaluate(instance, result, f"smtp://127.0.0.1:{servers.free_port()}")


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
