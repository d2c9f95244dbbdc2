"""Errors of the transit system: one line naming the file, key or field and the problem."""

from __future__ import annotations

from platform_assets.core.errors import PlatformError
from platform_assets.lib.gtfs.errors import FeedError, ValidityPeriodError

__all__ = ["TransitError", "CatalogError", "FeedError", "ValidityPeriodError", "FetchError", "PreprocessError", "PublicationError"]


class TransitError(PlatformError):
    """A feed, catalog entry, data source or publication the transit system cannot use."""


class CatalogError(TransitError):
    """The catalog file is missing, unreadable or invalid."""


class FetchError(TransitError):
    """A data source could not be fetched."""


class PreprocessError(TransitError):
    """A preprocess has bad parameters or cannot be applied to its feed."""


class PublicationError(TransitError):
    """A publication platform refused or could not be reached."""
