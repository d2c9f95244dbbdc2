"""Errors a user can act on: each carries a one-line message naming what to fix."""

from __future__ import annotations

from platform_assets.lib.errors import PlatformError

__all__ = ["PlatformError", "SettingsError", "ObjectStoreError", "MailDeliveryError", "DatabaseError", "SheetsError"]


class SettingsError(PlatformError):
    """A setting (environment variable) has a value the platform cannot use."""

    def __init__(self, setting: str, message: str) -> None:
        self.setting = setting
        super().__init__(f"{setting}: {message}")


class ObjectStoreError(PlatformError):
    """The object store (local folder or S3) failed or could not be reached."""


class MailDeliveryError(PlatformError):
    """A message could not be handed to the SMTP server or written to the outbox."""


class DatabaseError(PlatformError):
    """The platform database could not be reached or migrated."""


class SheetsError(PlatformError):
    """The tracker sheet backend (Google Sheets or local workbook) failed."""
