"""`platform-assets demo`: run the platform's main job on the embedded default and say what it made.

Each system that has a demo adds a `run_demo(instance, defs) -> list[str]` function in its own
`demo.py` (listed in DEMO_MODULES); the inventory report runs last and summarises everything.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import click
from dagster import DagsterInstance, Definitions

from platform_assets.core.settings import load_settings, redact_url

# Systems join the demo by adding their module here, in the order their data flows.
DEMO_MODULES: tuple[str, ...] = (
    "platform_assets.transit.demo",
    "platform_assets.trip_exports.demo",
    "platform_assets.dataset_tracker.demo",
    "platform_assets.quality.demo",
    "platform_assets.tracking.demo",  # last: it registers the runs the others made
)

DemoFunction = Callable[[DagsterInstance, Definitions], list[str]]

# The demo prints a summary; the runs' step-by-step logs stay in the Dagster UI.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def run_demo(instance: DagsterInstance) -> list[str]:
    """Run every system's demo then the inventory; return the summary lines."""
    from platform_assets.core.database import upgrade_database
    from platform_assets.definitions import build_definitions

    settings = load_settings()
    # Built now, not at import: the resources follow the environment the command runs in.
    defs = build_definitions(settings)
    upgrade_database(settings.database_url)
    lines = [
        f"deployment: {settings.deployment}",
        f"dagster instance: {instance.root_directory}",
        f"database: {redact_url(settings.database_url)}",
        f"objects: {settings.object_store_dir if settings.object_store == 'local' else 's3://' + settings.s3_bucket}",
    ]
    for module_name in DEMO_MODULES:
        demo: DemoFunction = importlib.import_module(module_name).run_demo
        lines.extend(demo(instance, defs))
    result = defs.resolve_job_def("platform_inventory_job").execute_in_process(
        instance=instance, run_config=QUIET_RUN_CONFIG
    )
    if not result.success:
        raise click.ClickException("the inventory run failed: see the run in the Dagster UI")
    for event in result.get_asset_materialization_events():
        metadata = event.materialization.metadata
        lines.append(f"inventory: {metadata['uri'].value} ({metadata['objects'].value} objects)")
    return lines


@click.command("demo")
def demo_command() -> None:
    """Materialize the demo on the embedded default and print what was produced and where."""
    from platform_assets.core.instance import dagster_instance

    with dagster_instance() as instance:
        for line in run_demo(instance):
            click.echo(line)
