"""Dagster asset check `contributor_expiry` on coverage_export: WARN when a contributor's own feed
ends within 30 days, ERROR within 7; the description names the contributors (see transit/expiry.py).
Never blocking: an expiring contributor must not stop the coverage's publication."""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    multi_asset_check,
)

from platform_assets.core.objectstore import ObjectStore
from platform_assets.transit.expiry import ERROR_DAYS, WARN_DAYS, coverage_expiries
from platform_assets.transit.resources import TransitSettings


@multi_asset_check(
    name="coverage_export_contributor_expiry",
    specs=[AssetCheckSpec(
        name="contributor_expiry", asset="coverage_export",
        description=f"Each contributor's own feed: WARN when it ends within {WARN_DAYS} days, ERROR within {ERROR_DAYS}.",
    )],
)
def coverage_contributor_expiry(  # type: ignore[no-untyped-def]
    context: AssetCheckExecutionContext, object_store: ObjectStore, transit: TransitSettings
):
    catalog = transit.load_catalog()
    today = transit.reference_today("", catalog)
    expiries = coverage_expiries(object_store, catalog, context.partition_key, today)
    alarming = [e for e in expiries if e.level != "ok"]
    severity = AssetCheckSeverity.ERROR if any(e.level == "error" for e in alarming) else AssetCheckSeverity.WARN
    description = "; ".join(e.describe() for e in alarming) or f"no contributor ends within {WARN_DAYS} days"
    yield AssetCheckResult(
        check_name="contributor_expiry",
        asset_key="coverage_export",
        passed=not alarming,
        severity=severity,
        description=description,
        metadata={
            "today": today.isoformat(),
            "contributors": [
                {"contributor": e.contributor_id, "end_date": e.end_date.isoformat(), "days_left": e.days_left, "level": e.level}
                for e in expiries
            ],
        },
    )
