"""The base of every error the platform reports to a user as one line."""

from __future__ import annotations


class PlatformError(Exception):
    """Base of every error the platform reports to a user as one line (no traceback needed)."""
