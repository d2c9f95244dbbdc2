"""Errors users can hit in the quality system (one clear line each)."""

from __future__ import annotations

from platform_assets.core.errors import PlatformError


class QualityError(PlatformError):
    """A quality-system input or parameter is unusable."""
