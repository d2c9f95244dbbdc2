"""`platform-assets tracker ...`: crawl the dataset sources, write the tracker sheet, show a history."""

from __future__ import annotations

from pathlib import Path

import click

from platform_assets.core.settings import configure


def _config_path(option: str | None) -> Path:
    from platform_assets.dataset_tracker.resources import TrackerSources

    return Path(option) if option else configure(TrackerSources, resolve=True).path


def _engine():  # type: ignore[no-untyped-def]
    from platform_assets.core.database import PlatformDatabase, get_engine, upgrade_database

    url = configure(PlatformDatabase, resolve=True).url
    upgrade_database(url)
    return get_engine(url)


config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), default=None,
    help="Sources config (default: PLATFORM_SOURCES_CONFIG).",
)


@click.group("tracker")
def tracker_cli() -> None:
    """The dataset tracker: crawl dataset folders, record their states, write the tracker sheet."""


@tracker_cli.command("check-config")
@config_option
def check_config(config_path: str | None) -> None:
    """Validate the sources config and list its sources."""
    from platform_assets.dataset_tracker.config import load_sources_config

    config = load_sources_config(_config_path(config_path))
    for source in config.sources:
        click.echo(f"{source.name}\t{source.stage.name}\t{source.location}")


@tracker_cli.command("crawl")
@config_option
@click.option("--record/--no-record", default=True, help="Record state changes in dataset_state (default: yes).")
def crawl_command(config_path: str | None, record: bool) -> None:
    """Crawl every source and print the counts per state, duplicates and warnings."""
    from platform_assets.dataset_tracker.config import load_sources_config
    from platform_assets.dataset_tracker.crawler import crawl
    from platform_assets.dataset_tracker.service import crawl_and_record

    config = load_sources_config(_config_path(config_path))
    if record:
        outcome = crawl_and_record(config, _engine())
        result, changes = outcome.result, len(outcome.changes)
    else:
        result, changes = crawl(config), None
    click.echo(f"{len(result.datasets)} accessions: "
               + ", ".join(f"{stage} {count}" for stage, count in result.counts_by_stage().items()))
    for dataset in result.duplicates():
        click.echo(f"duplicate {dataset.accession}: {'; '.join(dataset.duplicate_reasons)}")
    for warning in result.warnings:
        click.echo(f"warning {warning.line()}")
    if changes is not None:
        click.echo(f"{changes} state changes recorded")


@tracker_cli.command("sheet")
@config_option
def sheet_command(config_path: str | None) -> None:
    """Crawl, record the state changes and rewrite the tracker sheet (PLATFORM_SHEETS_BACKEND)."""
    from platform_assets.dataset_tracker.config import load_sources_config
    from platform_assets.dataset_tracker.resources import sheets_resource
    from platform_assets.dataset_tracker.service import crawl_and_record, sheet_tabs

    engine = _engine()
    outcome = crawl_and_record(load_sources_config(_config_path(config_path)), engine)
    tabs = sheet_tabs(outcome.inventory, engine)
    where = sheets_resource(resolve=True).replace_tabs(tabs)
    click.echo(f"tracker sheet: {where} ("
               + ", ".join(f"{title}: {len(tab.rows)} rows" for title, tab in tabs.items()) + ")")


@tracker_cli.command("history")
@click.argument("accession")
def history_command(accession: str) -> None:
    """Every recorded state of ACCESSION, oldest first."""
    from platform_assets.dataset_tracker.errors import DatasetTrackerError
    from platform_assets.dataset_tracker.history import history_of

    changes = history_of(_engine(), accession)
    if not changes:
        raise DatasetTrackerError(f"{accession}: no state recorded (run `platform-assets tracker crawl`)")
    for change in changes:
        click.echo(f"{change.changed_at:%Y-%m-%d %H:%M:%S} UTC\t{change.previous_state or '-'} -> {change.state}")
