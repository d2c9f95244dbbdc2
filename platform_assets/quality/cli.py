"""`platform-assets quality ...`: check an OCDS folder offline, list datasets, export stored reports;
and `platform-assets transit check-feed`: the GTFS checks on any zip."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from platform_assets.quality.errors import QualityError


@click.group("quality")
def quality_cli() -> None:
    """Data quality checks and reports."""


@quality_cli.command("datasets")
def datasets_command() -> None:
    """List the OCDS datasets (folders) under PLATFORM_OCDS_SOURCE."""
    from platform_assets.core.settings import configure
    from platform_assets.quality.ocds.loader import list_datasets
    from platform_assets.quality.resources import OcdsSource

    root = configure(OcdsSource, resolve=True).path
    for name in list_datasets(root):
        click.echo(name)


@quality_cli.command("check")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--previous", type=click.Path(path_type=Path), help="Folder of the ancestor dataset (time-based checks).")
@click.option("--worst", default=25, show_default=True, help="How many checks to list, worst first.")
def check_command(folder: Path, previous: Path | None, worst: int) -> None:
    """Run every OCDS check on FOLDER (release/record packages) and print the report as markdown."""
    from platform_assets.lib.quality.batch import batched
    from platform_assets.lib.quality.report import report_markdown
    from platform_assets.lib.quality.runner import run_checks
    from platform_assets.quality.ocds.loader import load_folder
    from platform_assets.quality.ocds.registry import ocds_checks

    errors: list[str] = []
    items = list(load_folder(folder, errors))
    old = batched(load_folder(previous, errors), 2000) if previous else None
    results = run_checks(ocds_checks(), batched(items, 2000), old)
    for line in errors:
        click.echo(f"left out: {line}", err=True)
    click.echo(report_markdown(results, f"Quality of {folder} ({len(items)} compiled releases)", worst))


@quality_cli.command("refresh-registers")
@click.option("--register", "names", type=click.Choice(["org-id", "ocid-prefix"]), multiple=True,
              help="Which register to refresh (default: both).")
@click.option("--url", help="Download from this URL instead of the register's public address (one register only).")
@click.option("--target", type=click.Path(path_type=Path), help="Write here instead of the shipped package data file.")
def refresh_registers_command(names: tuple[str, ...], url: str | None, target: Path | None) -> None:
    """Refresh the org-id.guide identifier schemes and the registered OCID prefixes the OCDS checks
    use (shipped as package data); the old copy stays when a download fails."""
    from platform_assets.quality.ocds.registers import REGISTERS, refresh_register

    chosen = names or tuple(REGISTERS)
    if (url or target) and len(chosen) != 1:
        raise QualityError("--url and --target need exactly one --register")
    for name in chosen:
        count = refresh_register(name, url, target)
        click.echo(f"{name}: {count} codes written to {target or REGISTERS[name][0]}")


@quality_cli.command("report")
@click.argument("dataset")
@click.option("--asset", default="ocds_dataset", show_default=True, help="The checked asset.")
@click.option("--format", "output_format", type=click.Choice(["md", "html", "xlsx"]), default="md", show_default=True)
@click.option("--output", type=click.Path(path_type=Path), help="File to write (md prints to stdout by default).")
def report_command(dataset: str, asset: str, output_format: str, output: Path | None) -> None:
    """Export the latest stored check run of DATASET from the platform database."""
    from platform_assets.core.database import PlatformDatabase, get_engine, upgrade_database
    from platform_assets.core.settings import configure
    from platform_assets.lib.quality.report import render_html, report_markdown, write_xlsx
    from platform_assets.lib.quality.storage import load_check_run

    url = configure(PlatformDatabase, resolve=True).url
    upgrade_database(url)
    stored = load_check_run(get_engine(url), asset, dataset)
    if stored is None:
        raise QualityError(f"no stored check run for {asset} [{dataset}]: materialize it first")
    title = f"Quality of {asset} [{dataset}] ({stored.items} items)"
    if output_format == "xlsx":
        if output is None:
            raise QualityError("--output is required for --format xlsx")
        write_xlsx(stored.results, output, title)
    else:
        text = report_markdown(stored.results, title) if output_format == "md" else render_html(stored.results, title)
        if output is None:
            click.echo(text)
            return
        output.write_text(text, encoding="utf-8")
    click.echo(f"report written to {output}")


# Registered under `platform-assets transit` (platform_assets/cli.py): users find it beside the feeds.
@click.command("check-feed")
@click.argument("feed", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--previous", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="The previous version of the feed, for the time-based checks.")
@click.option("--chunk-rows", type=click.IntRange(min=1), default=None,
              help="stop_times.txt / shapes.txt rows held at a time (default: PLATFORM_QUALITY_CHUNK_ROWS).")
@click.option("--json", "as_json", is_flag=True, help="Print every check result as JSON lines.")
def check_feed_command(feed: Path, previous: Path | None, chunk_rows: int | None, as_json: bool) -> None:
    """Run the GTFS quality checks on FEED (a zip), as the export checks do, and print the failing
    ones with an example each. Exits 1 when a failing check blocks (PLATFORM_QUALITY_BLOCKING_CHECKS)."""
    import time

    from platform_assets.core.resources import object_store
    from platform_assets.core.settings import configure
    from platform_assets.quality.dagster_checks import CheckPolicy
    from platform_assets.quality.gtfs.registry import check_feed
    from platform_assets.quality.gtfs_checks import gtfs_check_policy
    from platform_assets.quality.resources import QualityPolicy

    settings = configure(QualityPolicy, resolve=True)
    blocking = settings.blocking()
    policy = gtfs_check_policy(blocking)  # severity: reference checks are ERROR even when not blocking
    started = time.perf_counter()
    # Spilled rows go to a work folder owned by this process under PLATFORM_WORK_DIR: if the command
    # is killed, the next run's start removes it (core/objectstore.py clean_leftovers).
    with object_store(resolve=True).work_folder("gtfs-check-feed-") as work_folder:
        report = check_feed(feed, previous, chunk_rows=chunk_rows or settings.chunk_rows,
                            spill_rows=settings.spill_rows, work_folder=work_folder)
    elapsed = time.perf_counter() - started
    failing = [result for result in report.results if not result.ok]
    from platform_assets.quality.gtfs_checks import expand_blocking

    blocking_policy = CheckPolicy(blocking=expand_blocking(blocking))
    blocked = [result.name for result in failing if blocking_policy.is_blocking(result.name)]
    if as_json:
        for result in report.results:
            click.echo(json.dumps(result.to_dict(), default=str))
    else:
        for result in failing:
            severity = "ERROR" if policy.is_blocking(result.name) else "WARN"
            example = (result.examples.get("failed") or [{}])[0]
            click.echo(f"{severity:5} {result.name}: {result.failed} of {result.applicable} failed  e.g. {json.dumps(example, default=str)}")
    spilled = f", {report.spilled_buckets} buckets spilled to disk" if report.spilled_buckets else ""
    click.echo(f"{feed.name}: {len(report.results)} checks, {len(failing)} failing, {len(blocked)} blocking; "
               f"{report.rows} rows in {elapsed:.2f} s{spilled}", err=as_json)
    if blocked:
        sys.exit(1)
