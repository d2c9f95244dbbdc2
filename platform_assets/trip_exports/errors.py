"""Errors of the trip-export service: each one line a user can act on."""

from __future__ import annotations

from collections.abc import Sequence

from platform_assets.core.errors import PlatformError


class TripExportError(PlatformError):
    """Base of every trip-export error."""


class InvalidExportRequest(TripExportError):
    """A create request has problems; `problems` lists every one of them."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid export request: " + "; ".join(self.problems))


class PermissionDenied(TripExportError):
    """The caller may not see or act on this export, or asked for more than its scope."""


class ExportNotFound(TripExportError):
    """No export with this uuid (or none the caller may see: the two look the same on purpose)."""


class ExportStateError(TripExportError):
    """The export is not in a status that allows the action."""


class ExportGone(ExportStateError):
    """The export expired: its files are deleted."""


class CampaignConfigError(TripExportError):
    """The campaign configuration YAML cannot be used."""


class PortalError(TripExportError):
    """The open-data portal refused or could not be reached."""


class ExportTaken(ExportStateError):
    """Another worker holds the export (its run started and is not stale)."""


class SendLimitReached(TripExportError):
    """`send` was called more often than the per-export or per-day bound allows."""
