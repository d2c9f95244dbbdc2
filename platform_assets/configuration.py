"""Every setting of the platform, gathered from the resource classes that own them.

Each system declares its settings on its own resources (`<system>/resources.py`); this module
only collects them for the README's table and the `settings` command, so it is the one place
that knows every system (core knows none).
"""

from __future__ import annotations

from collections.abc import Iterator

import click

from platform_assets.core.settings import DATA_DIR_DEFAULT, SettingSpec, field_specs, settings_markdown


def all_settings() -> list[SettingSpec]:
    """Every setting once, core first, then each system's, in declaration order."""
    return list(_unique(_gather()))


def _gather() -> Iterator[SettingSpec]:
    from platform_assets.core.executors import EXECUTOR_SETTINGS
    from platform_assets.core.resources import CHOICE_SETTINGS, RESOURCE_CLASSES
    from platform_assets.dataset_tracker.defs import PLAIN_SETTINGS as TRACKER_SETTINGS
    from platform_assets.dataset_tracker.defs import RESOURCE_CLASSES as TRACKER_CLASSES
    from platform_assets.quality.defs import RESOURCE_CLASSES as QUALITY_CLASSES
    from platform_assets.tracking.defs import RESOURCE_CLASSES as TRACKING_CLASSES
    from platform_assets.transit.defs import RESOURCE_CLASSES as TRANSIT_CLASSES
    from platform_assets.trip_exports.defs import RESOURCE_CLASSES as TRIP_CLASSES

    yield SettingSpec("PLATFORM_DATA_DIR", DATA_DIR_DEFAULT, "Root folder of the embedded default's files.")
    yield from EXECUTOR_SETTINGS
    yield from CHOICE_SETTINGS
    for resource_class in RESOURCE_CLASSES:
        yield from field_specs(resource_class).values()
    yield from TRACKER_SETTINGS
    for classes in (TRANSIT_CLASSES, TRIP_CLASSES, TRACKING_CLASSES, TRACKER_CLASSES, QUALITY_CLASSES):
        for resource_class in classes:
            yield from field_specs(resource_class).values()


def _unique(specs: Iterator[SettingSpec]) -> Iterator[SettingSpec]:
    seen: set[str] = set()
    for spec in specs:
        if spec.name not in seen:
            seen.add(spec.name)
            yield spec


def all_settings_markdown() -> str:
    return settings_markdown(all_settings())


@click.command("settings")
@click.option("--markdown", is_flag=True, help="Print the table of settings and defaults (for the README).")
def settings_command(markdown: bool) -> None:
    """Print every setting with its current value (secrets and URL passwords hidden)."""
    from platform_assets.core.settings import redact_url

    if markdown:
        click.echo(all_settings_markdown(), nl=False)
        return
    for spec in all_settings():
        value = spec.read()
        if spec.secret and value and "://" not in value:
            value = "***"  # a URL shows with its password hidden instead
        click.echo(f"{spec.name}={redact_url(value)}")
