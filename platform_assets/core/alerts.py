"""Failure emails: one message per failed run (never for attempts that will be retried).

Dagster's `make_email_on_run_failure_sensor` always logs in and takes its password at import,
so the platform has its own `@run_failure_sensor`. Every alert goes through the durable outbox
(`core/outbox.py`): queued first, then sent through the `mailer` resource, and retried by the
`alert_delivery` sensor until the mail server takes it, so an SMTP outage loses no alert.
"""


from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dagster import (
    ConfigurableResource,
    DagsterEventType,
    DefaultSensorStatus,
    RunFailureSensorContext,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    sensor,
)
from dagster._core.storage.tags import PARTITION_NAME_TAG, WILL_RETRY_TAG

from platform_assets.core.database import PlatformDatabase
from platform_assets.core.mailer import Mailer
from platform_assets.core.settings import DATA_DIR_DEFAULT, comma_list, setting
from platform_assets.core.tags import ACTION_TAG, SUBJECT_TAG


class PlatformInfo(ConfigurableResource):
    """Which deployment this is, where its files live and who its operators are."""

    deployment: str = setting("PLATFORM_DEPLOYMENT", "local", "Name of this deployment, shown in alert emails.")
    data_dir: str = setting("PLATFORM_DATA_DIR", DATA_DIR_DEFAULT, "Root folder of the embedded default's files.")
    alert_emails_text: str = setting(
        "PLATFORM_ALERT_EMAILS", "operators@localhost", "Comma-separated operators who get failure emails."
    )
    run_heartbeat_seconds: int = setting(
        "PLATFORM_RUN_HEARTBEAT_SECONDS", "30", "Seconds between heartbeats of a run a CLI command executes in its own "
        "process; on another machine its run is failed after 4 missed (on the same machine: once its pid is gone).",
        minimum=1,
    )
    webserver_url: str = setting(
        "PLATFORM_WEBSERVER_URL", "", "Base URL of the Dagster UI, for run links in alert emails (empty: no link)."
    )

    @property
    def alert_emails(self) -> list[str]:
        return comma_list(self.alert_emails_text)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).absolute()

    def run_url(self, run_id: str) -> str:
        """The run's page in the Dagster UI, or "" when PLATFORM_WEBSERVER_URL is not set."""
        return f"{self.webserver_url.rstrip('/')}/runs/{run_id}" if self.webserver_url else ""


@dataclass(frozen=True)
class FailureReport:
    """Everything an operator needs from a failure email."""

    platform: str
    action: str
    run_id: str
    started: datetime | None
    ended: datetime | None
    step: str
    subject: str
    error: str
    run_url: str = ""

    @property
    def title(self) -> str:
        about = f" [{self.subject}]" if self.subject else ""
        return f"[{self.platform}] {self.action}{about} failed: {self.error.splitlines()[0][:120]}"

    def body(self) -> str:
        def when(moment: datetime | None) -> str:
            return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "unknown"

        lines = [
            f"Platform: {self.platform}",
            f"Start of execution: {when(self.started)}",
            f"End of execution: {when(self.ended)}",
            f"Action type: {self.action}",
            f"Job (run) id: {self.run_id}",
            *([f"Run in the Dagster UI: {self.run_url}"] if self.run_url else []),
            f"Step: {self.step or 'none (the run failed outside any step)'}",
            f"Contributor / coverage / export: {self.subject or 'none'}",
            "Error:",
            self.error,
        ]
        return "\n".join(lines) + "\n"


# A run refused because its process is on hold (core.holds.ProcessOnHoldError) is not a failure:
# tracking records it as `on hold` and the hold itself is mailed once, by tracking's notice sensor.
HOLD_REFUSAL = "ProcessOnHoldError"


def _error_classes(error: object) -> set[str]:
    """The class names along an error's cause chain (Dagster wraps the user's exception)."""
    names: set[str] = set()
    while error is not None and len(names) < 50:
        names.add(str(getattr(error, "cls_name", "") or ""))
        error = getattr(error, "cause", None) or getattr(error, "context", None)
    return names


def is_hold_refusal(context: RunFailureSensorContext) -> bool:
    """True when the run failed only because its process is on hold (every failure is a refusal)."""
    failures = [getattr(event.event_specific_data, "error", None) for event in context.get_step_failure_events()]
    if not failures:
        failures = [getattr(context.failure_event.event_specific_data, "error", None)]
    failures = [error for error in failures if error is not None]
    return bool(failures) and all(HOLD_REFUSAL in _error_classes(error) for error in failures)


def _short_message(error: Any) -> str:
    """The error's message with its class named as the user knows it: Dagster writes the class's
    full module path first (`platform_assets.transit.errors.FetchError: ...`)."""
    message = str(error.message).strip()
    name = str(getattr(error, "cls_name", "") or "")
    head, separator, rest = message.partition(":")
    if name and separator and head.endswith("." + name) and " " not in head:
        return f"{name}:{rest}"
    return message


def _as_datetime(timestamp: float | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, tz=UTC) if timestamp else None


def failure_report(context: RunFailureSensorContext, platform: str, run_url: str = "") -> FailureReport:
    run = context.dagster_run
    action = run.tags.get(ACTION_TAG) or run.job_name
    if action.startswith("__") and run.asset_selection:
        action = ", ".join(sorted(key.to_user_string() for key in run.asset_selection))
    steps, errors = [], []
    for event in context.get_step_failure_events():
        steps.append(event.step_key or "")
        error = getattr(event.event_specific_data, "error", None)
        # Dagster wraps the user's exception: the innermost cause is the one to show.
        while error is not None and error.cause is not None:
            error = error.cause
        if error is not None:
            errors.append(f"{event.step_key}: {_short_message(error)}")
    if not errors:
        # A run failed outside any step, e.g. canceled by run monitoring past `dagster/max_runtime`:
        # the reason is the run's canceling event, the failure event only says it was marked failed.
        reasons = [
            entry.dagster_event.message or ""
            for entry in context.instance.all_logs(run.run_id, of_type=DagsterEventType.RUN_CANCELING)
            if entry.dagster_event and "exceeding maximum runtime" in (entry.dagster_event.message or "")
        ]
        errors.append(" ".join([*reasons[-1:], context.failure_event.message or "the run failed"]))
    record = context.instance.get_run_record_by_id(run.run_id)
    return FailureReport(
        platform=platform,
        action=action,
        run_id=run.run_id,
        started=_as_datetime(record.start_time if record else None),
        ended=_as_datetime(record.end_time if record else None),
        step=", ".join(step for step in steps if step),
        subject=run.tags.get(PARTITION_NAME_TAG) or run.tags.get(SUBJECT_TAG, ""),
        error="\n".join(errors),
        run_url=run_url,
    )


@run_failure_sensor(
    name="run_failure_email",
    description="Emails the operators when a run fails for good (attempts that will be retried are skipped).",
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)
def run_failure_email(
    context: RunFailureSensorContext, mailer: Mailer, platform: PlatformInfo, database: PlatformDatabase
) -> None:
    from platform_assets.core.outbox import queue_alert

    if context.dagster_run.tags.get(WILL_RETRY_TAG) == "true":
        context.log.info(f"run {context.dagster_run.run_id} will be retried: no email")
        return
    if is_hold_refusal(context):
        context.log.info(f"run {context.dagster_run.run_id} was refused: its process is on hold (no failure email)")
        return
    report = failure_report(context, platform.deployment, platform.run_url(context.dagster_run.run_id))
    queue_alert(database.engine, f"run-failure:{report.run_id}", platform.alert_emails, report.title, report.body())
    _deliver(context, database, mailer)


def _deliver(context: Any, database: PlatformDatabase, mailer: Mailer) -> int:
    """Send every queued alert whose time has come; say what happened. Returns how many are left."""
    from platform_assets.core.outbox import deliver_due, pending_alerts

    for delivery in deliver_due(database.engine, mailer.send):
        if delivery.error is None:
            context.log.info(f"alert {delivery.dedup_key} sent to {delivery.sent_to}")
        else:
            context.log.warning(f"alert {delivery.dedup_key} not sent yet (will retry): {delivery.error}")
    return len(pending_alerts(database.engine))


@sensor(
    name="alert_delivery",
    description="Retries, with backoff, every operator alert the mail server has not taken yet.",
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
)
def alert_delivery(context: SensorEvaluationContext, mailer: Mailer, database: PlatformDatabase) -> SkipReason:
    left = _deliver(context, database, mailer)
    return SkipReason(f"{left} alert(s) waiting for the mail server" if left else "no alert waiting")
