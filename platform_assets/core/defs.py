"""Core Dagster definitions: shared resources, the inventory asset and the failure-email sensor."""

from dagster import Definitions, define_asset_job

from platform_assets.core.alerts import run_failure_email
from platform_assets.core.executors import build_executor
from platform_assets.core.inventory import platform_inventory
from platform_assets.core.resources import build_resources
from platform_assets.core.settings import Settings, load_settings

platform_inventory_job = define_asset_job("platform_inventory_job", selection=[platform_inventory])


def core_definitions(settings: Settings | None = None) -> Definitions:
    """Core definitions with resources built from `settings` (default: the environment now)."""
    settings = settings or load_settings()
    return Definitions(
        executor=build_executor(settings),
        assets=[platform_inventory],
        jobs=[platform_inventory_job],
        resources=build_resources(settings),
        sensors=[run_failure_email],
    )
