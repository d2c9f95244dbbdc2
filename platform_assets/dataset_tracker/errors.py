"""Errors of the dataset tracker a user can act on (one line each)."""

from __future__ import annotations

from platform_assets.core.errors import PlatformError


class DatasetTrackerError(PlatformError):
    """Base of the dataset tracker's user-facing errors."""


class SourcesConfigError(DatasetTrackerError):
    """The sources_config file is missing, unreadable or invalid (the message names the entry)."""


class SourceUnavailableError(DatasetTrackerError):
    """A source folder, listing or URL cannot be read: the crawl stops rather than record false changes."""
