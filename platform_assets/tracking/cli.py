"""`platform-assets process ...`: processes, runs, holds, extracts and errors of the platform database."""

from __future__ import annotations

import getpass

import click

from platform_assets.tracking.api import tracker_for
from platform_assets.tracking.models import EXTRACT_STATUSES
from platform_assets.tracking.report import when
from platform_assets.tracking.tracker import ProcessTracker


def _tracker() -> ProcessTracker:
    return tracker_for(None)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


def _rows(header: tuple[str, ...], rows: list[tuple[object, ...]]) -> None:
    """Print an aligned table (tab-free so it reads well in a terminal and in logs)."""
    text_rows = [tuple(str(cell) for cell in row) for row in rows]
    widths = [max(len(cell) for cell in column) for column in zip(header, *text_rows, strict=False)]
    for row in [header, *text_rows]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip())


@click.group("process")
def process_cli() -> None:
    """Tracked processes: runs, holds, extracts and errors."""


@process_cli.command("list")
def list_processes() -> None:
    """Every process with its state, last run and hold."""
    statuses = _tracker().processes()
    if not statuses:
        click.echo("no process registered yet")
        return
    _rows(
        ("process", "type", "tool", "state", "last run", "failures", "hold"),
        [
            (
                status.process.name,
                status.process.type,
                status.process.tool,
                status.state,
                f"#{status.last_run.run_number} {when(status.last_run.started_at)}" if status.last_run else "-",
                f"{status.process.consecutive_failures}/{status.process.max_concurrent_failures}",
                status.hold.reason if status.hold else "-",
            )
            for status in statuses
        ],
    )


@process_cli.command("runs")
@click.argument("name")
@click.option("--limit", default=20, show_default=True, help="How many runs, newest first.")
def list_runs(name: str, limit: int) -> None:
    """The last runs of process NAME."""
    runs = _tracker().runs(name, limit)
    if not runs:
        click.echo(f"process {name!r} has no run yet")
        return
    _rows(
        ("run", "status", "actor", "started", "ended", "written", "partition", "dagster run"),
        [
            (
                f"#{run.run_number}",
                run.status,
                run.actor or "-",
                when(run.started_at),
                when(run.ended_at),
                "-" if run.records_written is None else run.records_written,
                run.partition or "-",
                run.dagster_run_id or "-",
            )
            for run in runs
        ],
    )


@process_cli.command("hold")
@click.argument("name")
@click.option("--reason", default="put on hold by an operator", show_default=True)
@click.option("--by", default=_os_user, show_default="the OS user", help="Who puts it on hold.")
@click.option("--partition", default=None, help="Hold only this partition (a contributor, coverage or export).")
def hold(name: str, reason: str, by: str, partition: str | None) -> None:
    """Put process NAME (or one of its partitions) on hold: its sensors and schedules skip it and
    its runs are refused until released."""
    tracker = _tracker()
    tracker.get_process(name)
    tracker.hold(name, reason, by=by, partition=partition)
    where = f" [{partition}]" if partition else ""
    click.echo(f"process {name}{where} is on hold ({reason}), by {by}")


@process_cli.command("release")
@click.argument("name")
@click.option("--by", default=_os_user, show_default="the OS user", help="Who releases it.")
@click.option("--partition", default=None, help="Release only this partition's hold.")
def release(name: str, by: str, partition: str | None) -> None:
    """Release process NAME (or one of its partitions): its sensors and schedules run it again."""
    _tracker().release(name, by=by, partition=partition)
    where = f" [{partition}]" if partition else ""
    click.echo(f"process {name}{where} released by {by}")


@process_cli.command("extracts")
@click.option("--location", default=None, help="Only extracts of this location (a folder URI ending with /).")
@click.option("--status", type=click.Choice(EXTRACT_STATUSES), default=None, help="Only extracts in this status.")
def list_extracts(location: str | None, status: str | None) -> None:
    """Registered extracts (files handed between processes)."""
    extracts = _tracker().extracts(location=location, status=status)
    if not extracts:
        click.echo("no extract matches")
        return
    _rows(
        ("filename", "status", "size", "updated", "location"),
        [
            (e.filename, e.status, "-" if e.size is None else e.size, when(e.updated_at), e.location)
            for e in extracts
        ],
    )


@process_cli.command("errors")
@click.argument("name")
@click.option("--limit", default=20, show_default=True)
def list_errors(name: str, limit: int) -> None:
    """The last errors of process NAME."""
    errors = _tracker().errors(name, limit)
    if not errors:
        click.echo(f"process {name!r} has no error recorded")
        return
    _rows(
        ("run", "time", "type", "fatal", "step", "message"),
        [
            (
                f"#{error.run.run_number}",
                when(error.occurred_at),
                error.type,
                "yes" if error.fatal else "no",
                error.step or "-",
                error.message.strip().splitlines()[0][:160],
            )
            for error in errors
        ],
    )
