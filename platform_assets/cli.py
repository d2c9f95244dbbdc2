"""Entry point of the `platform-assets` command: the core group plus each system's commands,
each imported only when it is run (so `--help` and `--version` import no system)."""

import click

from platform_assets.core.cli import PlatformGroup, platform_cli


def transit_commands() -> click.Group:
    """Transit's commands, with quality's GTFS checks as `transit check-feed` (the one place that
    puts two systems' commands side by side: transit never imports quality)."""
    from platform_assets.quality.cli import check_feed_command
    from platform_assets.transit.cli import transit_cli

    if "check-feed" not in transit_cli.commands:
        transit_cli.add_command(check_feed_command)
    return transit_cli


# name -> (module, attribute: a command or a function returning one, one-line help for `--help`).
LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": ("platform_assets.demo", "demo_command", "Materialize the demo on the embedded default and print what it made."),
    "settings": ("platform_assets.configuration", "settings_command", "Print every setting with its current value."),
    "transit": ("platform_assets.cli", "transit_commands", "Transit feeds: exports, publications, feed checks."),
    "export": ("platform_assets.trip_exports.cli", "export_cli", "Trip exports: create, list, download, send, process."),
    "opendata": ("platform_assets.trip_exports.cli", "opendata_cli", "Monthly open data: create, upload, publish."),
    "api": ("platform_assets.trip_exports.cli", "api_cli", "The trip exports HTTP API."),
    "process": ("platform_assets.tracking.cli", "process_cli", "Process tracking: status, runs, holds."),
    "tracker": ("platform_assets.dataset_tracker.cli", "tracker_cli", "The dataset tracker: crawl, sheet, history."),
    "quality": ("platform_assets.quality.cli", "quality_cli", "Data quality: OCDS datasets, checks, reports."),
}
PlatformGroup.lazy_commands = {name: (module, attribute) for name, (module, attribute, _) in LAZY_COMMANDS.items()}
PlatformGroup.lazy_help = {name: help_text for name, (_, _, help_text) in LAZY_COMMANDS.items()}


def main() -> None:
    platform_cli(prog_name="platform-assets")


if __name__ == "__main__":
    main()
