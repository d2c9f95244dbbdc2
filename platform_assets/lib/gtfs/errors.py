"""Errors of reading a GTFS feed: one line naming the feed, the file and the problem."""

from __future__ import annotations

from platform_assets.lib.errors import PlatformError


class FeedError(PlatformError):
    """A GTFS feed cannot be read or has content the platform cannot use."""


class ValidityPeriodError(FeedError):
    """No validity period can be computed for a feed (or it is entirely in the past)."""
