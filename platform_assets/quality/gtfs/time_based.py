"""Rules against the previous export of the same feed: persistence, validity not shrinking."""

from __future__ import annotations

from platform_assets.lib.gtfs.errors import FeedError
from platform_assets.lib.gtfs.reader import GtfsFrames
from platform_assets.lib.gtfs.validity import ValidityPeriod, feed_validity_period
from platform_assets.lib.quality.batch import FrameBatch
from platform_assets.lib.quality.check import score_of
from platform_assets.lib.quality.result import (
    CheckResult,
    Level,
    Outcome,
)
from platform_assets.lib.quality.runner import run_checks
from platform_assets.lib.quality.time_based.persistence import DEFAULT_SHARE, persistence


# -- time-based ------------------------------------------------------------------------------------
def validity_of(feed: GtfsFrames) -> ValidityPeriod | None:
    try:
        return feed_validity_period(feed.as_feed())
    except FeedError:
        return None


def validity_not_shrinking(current: GtfsFrames, previous: GtfsFrames | None) -> CheckResult:
    """The validity period ends no earlier than the previous export's (a start moving later is normal)."""
    name = "time_based.validity.not_shrinking"
    result = CheckResult(name, Level.TIME, "the validity period does not end earlier than the previous export's")
    now = validity_of(current)
    before = validity_of(previous) if previous is not None else None
    result.meta = {"current": now.as_json() if now else None, "previous": before.as_json() if before else None}
    if now is None or before is None:
        result.not_applicable = 1
        reason = "no previous export" if previous is None else "no validity period to compare"
        result.examples = {Outcome.NOT_APPLICABLE: [{"item": "validity", "reason": reason}]}
        result.meta["reason"] = reason
        return result
    example = {"item": "validity", "previous": f"{before.start_date}..{before.end_date}", "current": f"{now.start_date}..{now.end_date}",
               "days_lost_at_end": max(0, (before.end_date - now.end_date).days)}
    if now.end_date >= before.end_date:
        result.passed, result.examples = 1, {Outcome.PASSED: [example]}
    else:
        result.failed, result.examples = 1, {Outcome.FAILED: [example]}
    return score_of(result)


def time_results(current: GtfsFrames, previous: GtfsFrames | None, threshold: float = DEFAULT_SHARE, seed: int = 0) -> list[CheckResult]:
    results = []
    for table, column in (("stops.txt", "stop_id"), ("routes.txt", "route_id")):
        check = persistence(column, name=f"time_based.{table.removesuffix('.txt')}.{column}.persistence", threshold=threshold)

        def batches(feed: GtfsFrames | None, table: str = table) -> list[FrameBatch]:
            frame = feed.frame(table) if feed is not None else None
            return [] if frame is None else [FrameBatch(frame, None, 0, table.removesuffix(".txt"))]

        (result,) = run_checks([check], batches(current), batches(previous) if previous is not None else None, seed)
        results.append(result)
    results.append(validity_not_shrinking(current, previous))
    return results


