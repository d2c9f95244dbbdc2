"""The base of every error the platform reports to a user as one line."""

from __future__ import annotations


class PlatformError(Exception):
    """Base of every error the platform reports to a user as one line (no traceback needed)."""


def clip(value: object, limit: int = 120) -> str:
    """`repr(value)` cut to `limit` characters: error messages never echo unbounded input."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 20]}...({len(text)} characters)"
