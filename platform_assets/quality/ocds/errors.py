"""Errors users can hit with OCDS sources."""

from __future__ import annotations

from platform_assets.quality.errors import QualityError

__all__ = ["OcdsSourceError", "QualityError"]


class OcdsSourceError(QualityError):
    """An OCDS source (folder, file or table) cannot be read."""
