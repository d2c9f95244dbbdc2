"""Hold notices: the email operators get when a process is put on hold or released (no Dagster).

A hold is not a failed run: it has its own message naming the process (and partition), who held
it and why, the last errors that led to it and how to release it. The notice sensor mails every
hold event not mailed yet, so a mail server that is down delays a notice but never loses it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from platform_assets.core.errors import PlatformError

if TYPE_CHECKING:
    from platform_assets.tracking.models import HoldEvent, RunError
    from platform_assets.tracking.tracker import LateProcess, ProcessTracker


MAX_NOTICE_ERRORS = 10


@dataclass(frozen=True)
class Notice:
    subject: str
    body: str


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "unknown time"


def release_instructions(process_name: str, partition: str | None = None) -> list[str]:
    """How to release the hold: a partition's hold is released by naming the partition too."""
    option = f" --partition {partition}" if partition else ""
    field = f", partition: {partition}" if partition else ""
    return [
        f"  - command line: platform-assets process release {process_name}{option} --by <your name>",
        f"  - Dagster UI: launch release_process_job with process_name: {process_name}{field} and by: <your name>",
    ]


def hold_notice(event: HoldEvent, errors: Sequence[RunError], deployment: str) -> Notice:
    """The email of one hold or release event; `errors` are the process's latest errors, newest first."""
    where = f" [{event.partition}]" if event.partition else ""
    lines = [
        f"Platform: {deployment}",
        f"Process: {event.process_name}",
        f"Partition: {event.partition or 'all (the whole process)'}",
    ]
    if event.action == "held":
        subject = f"[{deployment}] process {event.process_name}{where} put on hold"
        lines += [
            f"Put on hold at: {_when(event.at)} by {event.by}",
            f"Reason: {event.reason or 'none given'}",
            "",
            "Its sensors and schedules skip it, and manual launches are refused, until it is released.",
            "",
            f"Last {len(errors)} errors (newest first):" if errors else "No error recorded.",
        ]
        for error in errors:
            first_line = (error.message.strip().splitlines() or [""])[0][:300]
            run = f"run #{error.run.run_number}" if error.run is not None else "run ?"
            partition = f" [{error.run.partition}]" if error.run is not None and error.run.partition else ""
            step = f" step {error.step}" if error.step else ""
            lines.append(f"  - {_when(error.occurred_at)} {run}{partition}{step}: {first_line}")
        lines += ["", "How to release it once the cause is fixed:", *release_instructions(event.process_name, event.partition)]
    else:
        subject = f"[{deployment}] process {event.process_name}{where} released"
        lines += [
            f"Released at: {_when(event.at)} by {event.by}",
            "",
            "Its sensors and schedules run it again; its failure count starts from zero.",
        ]
    return Notice(subject, "\n".join(lines) + "\n")


@dataclass
class NoticeOutcome:
    sent: int = 0
    problems: list[str] = field(default_factory=list)


def send_hold_notices(
    tracker: ProcessTracker,
    send: Callable[[Sequence[str], str, str], object],
    recipients: Sequence[str],
    deployment: str,
) -> NoticeOutcome:
    """Mail every hold event not mailed yet, oldest first; stop at the first delivery problem (the
    mail server is down: the rest wait for the next call). With no operator configured the events
    are marked done (there is nobody to tell) and a problem line says so."""
    from platform_assets.tracking.tracker import UnknownProcessError

    outcome = NoticeOutcome()
    for event in tracker.unnotified_hold_events():
        if not [address for address in recipients if address]:
            tracker.mark_notified(event.id)
            outcome.problems.append(f"hold notice for {event.process_name}: no operator email (PLATFORM_ALERT_EMAILS)")
            continue
        errors: list[RunError] = []
        if event.action == "held":
            try:
                limit = min(tracker.get_process(event.process_name).max_concurrent_failures, MAX_NOTICE_ERRORS)
                errors = tracker.errors(event.process_name, limit=limit, partition=event.partition, fatal_only=True)
            except UnknownProcessError:
                errors = []  # held by an operator before it ever ran
        notice = hold_notice(event, errors, deployment)
        try:
            send(recipients, notice.subject, notice.body)
        except PlatformError as error:
            outcome.problems.append(f"hold notice for {event.process_name} not sent yet: {error}")
            break
        tracker.mark_notified(event.id)
        outcome.sent += 1
    return outcome


def lateness_notice(late: LateProcess, deployment: str) -> Notice:
    """The email telling operators a process has not run as often as it is expected to."""
    process = late.process
    every = timedelta(seconds=process.expected_every_seconds or 0)
    subject = f"[{deployment}] process {process.name} is late: no run since {_when(late.last_started_at)}"
    lines = [
        f"Platform: {deployment}",
        f"Process: {process.name}",
        f"Expected: a run at least every {every}",
        f"Last run started: {_when(late.last_started_at) if late.last_started_at else 'never'}",
        f"Next run was due by: {_when(late.due_at)}",
        "",
        "Check its schedule or sensor (stopped? skipping?) and the run queue in the Dagster UI.",
    ]
    return Notice(subject, "\n".join(lines) + "\n")


def send_lateness_notices(
    tracker: ProcessTracker,
    send: Callable[[Sequence[str], str, str], object],
    recipients: Sequence[str],
    deployment: str,
    now: datetime | None = None,
) -> NoticeOutcome:
    """Mail each late process once per lateness (until its next run); stop at a delivery problem."""
    outcome = NoticeOutcome()
    for late in tracker.late_processes(now):
        if late.process.late_notified_at is not None:
            continue
        notice = lateness_notice(late, deployment)
        try:
            send(recipients, notice.subject, notice.body)
        except PlatformError as error:
            outcome.problems.append(f"lateness notice for {late.process.name} not sent yet: {error}")
            break
        tracker.mark_late_notified(late.process.name)
        outcome.sent += 1
    return outcome
