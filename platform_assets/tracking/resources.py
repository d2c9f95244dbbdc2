"""Tracking's settings, as a resource."""

from __future__ import annotations

from dagster import ConfigurableResource

from platform_assets.core.settings import setting


class TrackingPolicy(ConfigurableResource):
    """When a failing process is put on hold."""

    max_concurrent_failures: int = setting(
        "PLATFORM_MAX_CONCURRENT_FAILURES",
        "5",
        "Failed runs in a row that put a newly registered process on hold (per process afterwards).",
        minimum=1,
    )
    openlineage_url: str = setting(
        "PLATFORM_OPENLINEAGE_URL", "",
        "OpenLineage endpoint (e.g. Marquez) receiving every run as START/COMPLETE/FAIL events; empty: lineage off.",
    )
    # The deployment names the OpenLineage namespace of jobs and datasets.
    deployment: str = setting("PLATFORM_DEPLOYMENT", "local", "Name of this deployment, shown in alert emails.")
