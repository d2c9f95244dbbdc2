"""Expiry of each contributor's own feed in a coverage (beyond Tartare, asked for in transit data
issue trackers): a coverage's merged period hides one contributor whose timetable ends soon."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

from platform_assets.transit.store import Store, read_state, state_key

if TYPE_CHECKING:
    from platform_assets.transit.catalog import Catalog

WARN_DAYS = 30
ERROR_DAYS = 7
Level = Literal["ok", "warn", "error"]


@dataclass(frozen=True)
class ContributorExpiry:
    contributor_id: str
    end_date: date
    days_left: int
    level: Level

    def alert(self, platform: str, coverage_id: str, today: date) -> tuple[str, str, str]:
        """(dedup key, subject, body) of the operators' alert naming this contributor. The key holds
        the feed's end date and the level: one email per contributor per level and feed version,
        however many coverage exports see it."""
        severity = "ERROR" if self.level == "error" else "WARNING"
        key = f"transit-expiry:{coverage_id}:{self.contributor_id}:{self.end_date.isoformat()}:{self.level}"
        if len(key) > 200:  # the outbox's key column; ids are not bounded in length
            digest = hashlib.sha256(key.encode()).hexdigest()[:32]
            key = f"transit-expiry:{digest}:{self.level}"
        subject = f"[{platform}] transit contributor {self.contributor_id} (coverage {coverage_id}): {self.describe()} [{severity}]"
        limit = ERROR_DAYS if self.level == "error" else WARN_DAYS
        body = "\n".join([
            f"Platform: {platform}",
            f"Contributor: {self.contributor_id}",
            f"Coverage: {coverage_id}",
            f"Its own feed ends on: {self.end_date.isoformat()}",
            f"Days left (from {today.isoformat()}): {self.days_left}",
            f"Level: {severity} (within {limit} days)",
            "Check: coverage_export / contributor_expiry",
            f"The coverage's merged validity may go on: contributor {self.contributor_id} needs a new feed.",
        ]) + "\n"
        return key, subject, body

    def describe(self) -> str:
        if self.days_left < 0:
            return f"{self.contributor_id} ended on {self.end_date} ({-self.days_left} days ago)"
        return f"{self.contributor_id} ends on {self.end_date} ({self.days_left} days left)"


def coverage_expiries(
    store: Store, catalog: Catalog, coverage_id: str, today: date, warn_days: int = WARN_DAYS, error_days: int = ERROR_DAYS
) -> list[ContributorExpiry]:
    """Each contributor of the coverage with a GTFS export: its feed's own end date (before the
    365-day cut), days left from `today`, and `error` within `error_days`, `warn` within `warn_days`.
    Worst first."""
    expiries: list[ContributorExpiry] = []
    for contributor_id in catalog.coverage(coverage_id).contributors:
        versions = read_state(store, state_key("contributor_exports", contributor_id)).get("versions", [])
        latest = versions[-1] if versions else None
        if latest is None or not latest.get("keys"):
            continue  # no export yet, or pass-through data only: no timetable to expire
        period = latest.get("feed_validity") or latest["validity"]
        end = date.fromisoformat(period["end_date"])
        days_left = (end - today).days
        level: Level = "error" if days_left <= error_days else "warn" if days_left <= warn_days else "ok"
        expiries.append(ContributorExpiry(contributor_id, end, days_left, level))
    return sorted(expiries, key=lambda e: (e.days_left, e.contributor_id))
