"""Failure emails: one message per failed run (never for attempts that will be retried).

Dagster's `make_email_on_run_failure_sensor` always logs in and takes its password at import,
so the platform has its own `@run_failure_sensor` that sends through the `mailer` resource.
"""


from dataclasses import dataclass
from datetime import UTC, datetime

from dagster import (
    ConfigurableResource,
    DefaultSensorStatus,
    RunFailureSensorContext,
    run_failure_sensor,
)
from dagster._core.storage.tags import PARTITION_NAME_TAG, WILL_RETRY_TAG
from pydantic import Field

from platform_assets.core.mailer import Mailer

# Jobs that act on one thing without a partition (a trip export id, say) name it with this tag.
SUBJECT_TAG = "platform/subject"
# A job whose name is not the action users know (job names cannot repeat asset names) says it here.
ACTION_TAG = "platform/action"


class PlatformInfo(ConfigurableResource):
    """Which deployment this is and who its operators are."""

    deployment: str = Field(default="local", description="Deployment name (PLATFORM_DEPLOYMENT).")
    alert_emails: list[str] = Field(default_factory=list, description="Operators (PLATFORM_ALERT_EMAILS).")


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


def _as_datetime(timestamp: float | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, tz=UTC) if timestamp else None


def failure_report(context: RunFailureSensorContext, platform: str) -> FailureReport:
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
            errors.append(f"{event.step_key}: {error.message.strip()}")
    if not errors:
        errors.append(context.failure_event.message or "the run failed")
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
    )


@run_failure_sensor(
    name="run_failure_email",
    description="Emails the operators when a run fails for good (attempts that will be retried are skipped).",
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)
def run_failure_email(context: RunFailureSensorContext, mailer: Mailer, platform: PlatformInfo) -> None:
    if context.dagster_run.tags.get(WILL_RETRY_TAG) == "true":
        context.log.info(f"run {context.dagster_run.run_id} will be retried: no email")
        return
    if is_hold_refusal(context):
        context.log.info(f"run {context.dagster_run.run_id} was refused: its process is on hold (no failure email)")
        return
    report = failure_report(context, platform.deployment)
    where = mailer.send(platform.alert_emails, report.title, report.body())
    context.log.info(f"failure email for run {report.run_id} sent to {where}")
