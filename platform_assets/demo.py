"""`platform-assets demo`: run the platform's main job on the embedded default and say what it made.

Each system that has a demo adds a `run_demo(instance, defs) -> list[str]` function in its own
`demo.py` (listed in DEMO_MODULES); the inventory report runs last and summarises everything.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import click
from dagster import DagsterInstance, Definitions

from platform_assets.core.settings import redact_url

# Systems join the demo by adding their module here, in the order their data flows.
DEMO_MODULES: tuple[str, ...] = (
    "platform_assets.transit.demo",
    "platform_assets.trip_exports.demo",
    "platform_assets.dataset_tracker.demo",
    "platform_assets.quality.demo",
    "platform_assets.tracking.demo",  # last: it registers the runs the others made
)

DemoFunction = Callable[[DagsterInstance, Definitions], list[str]]



def _store_root(store: object) -> str:
    """Where the demo's objects are: the local folder, or the bucket."""
    local_dir = getattr(store, "local_dir", None)
    return str(local_dir) if local_dir else f"s3://{getattr(store, 'bucket', '')}"


class _LeveledJob:
    """A job whose in-process runs log to the console from `level` up (the event log keeps all)."""

    def __init__(self, job: Any, level: str) -> None:
        self._job = job
        self._level = level

    def execute_in_process(self, **kwargs: Any) -> Any:
        run_config = dict(kwargs.pop("run_config", None) or {})
        run_config["loggers"] = {"console": {"config": {"log_level": self._level}}}
        return self._job.execute_in_process(run_config=run_config, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._job, name)


class DemoDefinitions:
    """The code location as the demo runs it: each run prints warnings and errors only, or every
    Dagster event with `verbose` (the run's own console logger, set through its run config)."""

    def __init__(self, defs: Definitions, verbose: bool) -> None:
        self._defs = defs
        self._level = "DEBUG" if verbose else "WARNING"

    def resolve_job_def(self, name: str) -> Any:
        return _LeveledJob(self._defs.resolve_job_def(name), self._level)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._defs, name)


def demo_definitions(verbose: bool = False) -> Any:
    from platform_assets.definitions import build_definitions

    return DemoDefinitions(build_definitions(), verbose)


def run_demo(instance: DagsterInstance, verbose: bool = False) -> list[str]:
    """Run every system's demo then the inventory; return the summary lines."""
    from platform_assets.core.database import upgrade_database
    from platform_assets.core.resources import core_resources

    # Built now, not at import: the resources follow the environment the command runs in.
    defs = demo_definitions(verbose)
    resources = core_resources(resolve=True)
    database_url = resources["database"].url
    upgrade_database(database_url)
    lines = [
        f"deployment: {resources['platform'].deployment}",
        f"dagster instance: {instance.root_directory}",
        f"database: {redact_url(database_url)}",
        f"objects: {_store_root(resources['object_store'])}",
    ]
    for module_name in DEMO_MODULES:
        demo: DemoFunction = importlib.import_module(module_name).run_demo
        lines.extend(demo(instance, defs))
    result = defs.resolve_job_def("platform_inventory_job").execute_in_process(instance=instance)
    if not result.success:
        raise click.ClickException("the inventory run failed: see the run in the Dagster UI")
    for event in result.get_asset_materialization_events():
        metadata = event.materialization.metadata
        lines.append(f"inventory: {metadata['uri'].value} ({metadata['objects'].value} objects)")
    return lines


@click.command("demo")
@click.option("--verbose", is_flag=True, help="Print every Dagster event of the runs, not only warnings and errors.")
def demo_command(verbose: bool) -> None:
    """Materialize the demo on the embedded default and print what was produced and where."""
    from platform_assets.core.instance import dagster_instance

    with dagster_instance() as instance:
        for line in run_demo(instance, verbose):
            click.echo(line)
