"""Core Dagster definitions: shared resources, the inventory asset and the failure-email sensor."""

from __future__ import annotations

from collections.abc import Mapping

from dagster import (
    AssetSelection,
    AutomationConditionSensorDefinition,
    DefaultSensorStatus,
    Definitions,
    define_asset_job,
)

from platform_assets.core.alerts import alert_delivery, run_failure_email
from platform_assets.core.executors import build_executor
from platform_assets.core.inventory import platform_inventory
from platform_assets.core.resources import core_resources
from platform_assets.core.run_liveness import dead_run_detection

platform_inventory_job = define_asset_job(
    "platform_inventory_job",
    selection=[platform_inventory],
    description="List every object in the object store with its size (the platform inventory).",
)

# The one sensor that evaluates the declarative automation conditions (quality's checks after a
# new contributor export, the reports after their checks); named and described, instead of the
# default sensor Dagster adds without a description.
platform_automation = AutomationConditionSensorDefinition(
    "platform_automation",
    target=AssetSelection.all(),
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Evaluates the assets' and checks' automation conditions: GTFS checks of a contributor "
    "after its new export, quality reports after their checks.",
)


def core_definitions(env: Mapping[str, str] | None = None) -> Definitions:
    """Core definitions, their resources configured for this deployment (EnvVars for whatever the
    environment sets)."""
    return Definitions(
        executor=build_executor(env),
        assets=[platform_inventory],
        jobs=[platform_inventory_job],
        resources=core_resources(env),
        sensors=[run_failure_email, alert_delivery, dead_run_detection, platform_automation],
    )
