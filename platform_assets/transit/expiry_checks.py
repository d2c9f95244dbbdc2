"""Dagster asset check `contributor_expiry` on coverage_export: WARN when a contributor's own feed
ends within 30 days, ERROR within 7; the description names the contributors (see transit/expiry.py).
Never blocking: an expiring contributor must not stop the coverage's publication. Each contributor
warned about is also emailed to the operators through core's alert outbox, once per contributor,
level and feed end date (a failing non-blocking check fails no run, so run_failure_email never sees it)."""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    multi_asset_check,
)

from platform_assets.core.alerts import PlatformInfo
from platform_assets.core.database import PlatformDatabase
from platform_assets.core.mailer import Mailer
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
    context: AssetCheckExecutionContext,
    object_store: ObjectStore,
    transit: TransitSettings,
    database: PlatformDatabase,
    platform: PlatformInfo,
    mailer: Mailer,
):
    from platform_assets.core.outbox import deliver_due, queue_alert

    catalog = transit.load_catalog()
    today = transit.reference_today("", catalog)
    expiries = coverage_expiries(object_store, catalog, context.partition_key, today)
    alarming = [e for e in expiries if e.level != "ok"]
    severity = AssetCheckSeverity.ERROR if any(e.level == "error" for e in alarming) else AssetCheckSeverity.WARN
    description = "; ".join(e.describe() for e in alarming) or f"no contributor ends within {WARN_DAYS} days"
    queued = []
    for expiry in alarming:
        key, subject, body = expiry.alert(platform.deployment, context.partition_key, today)
        if queue_alert(database.engine, key, platform.alert_emails, subject, body):
            queued.append(expiry.contributor_id)
    if queued:
        context.log.info(f"expiry alert queued for {', '.join(queued)}")
        for delivery in deliver_due(database.engine, mailer.send):  # at once; alert_delivery retries the rest
            if delivery.error is not None:
                context.log.warning(f"alert {delivery.dedup_key} not sent yet (will retry): {delivery.error}")
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
