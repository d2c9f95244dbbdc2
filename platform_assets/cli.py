"""Entry point of the `platform-assets` command: the core group plus each system's commands."""

from platform_assets.core.cli import platform_cli
from platform_assets.dataset_tracker.cli import tracker_cli
from platform_assets.demo import demo_command
from platform_assets.quality.cli import check_feed_command, quality_cli
from platform_assets.tracking.cli import process_cli
from platform_assets.transit.cli import transit_cli
from platform_assets.trip_exports.cli import api_cli as trip_api_cli
from platform_assets.trip_exports.cli import export_cli as trip_export_cli
from platform_assets.trip_exports.cli import opendata_cli as trip_opendata_cli

platform_cli.add_command(demo_command)
transit_cli.add_command(check_feed_command)  # quality's GTFS checks, under the transit commands
platform_cli.add_command(transit_cli)
platform_cli.add_command(trip_export_cli)
platform_cli.add_command(trip_opendata_cli)
platform_cli.add_command(trip_api_cli)
platform_cli.add_command(process_cli)
platform_cli.add_command(tracker_cli)
platform_cli.add_command(quality_cli)


def main() -> None:
    platform_cli(prog_name="platform-assets")


if __name__ == "__main__":
    main()
