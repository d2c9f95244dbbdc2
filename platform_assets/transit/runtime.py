"""Small helpers the Dagster layer and the CLI share (no Dagster imports)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from platform_assets.core.settings import load_settings
from platform_assets.transit.catalog import Catalog, load_catalog
from platform_assets.transit.errors import TransitError


def current_catalog() -> Catalog:
    return load_catalog(load_settings().catalog)


def reference_today(override: str = "", catalog: Catalog | None = None) -> date:
    """'Today' for the validity rules: a run's override, else PLATFORM_TRANSIT_TODAY, else the
    catalog's `today`, else the UTC date."""
    value = override or load_settings().value("PLATFORM_TRANSIT_TODAY")
    if not value:
        return catalog.today if catalog is not None and catalog.today else datetime.now(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise TransitError(f"PLATFORM_TRANSIT_TODAY / today: {value!r} is not a YYYY-MM-DD date") from None


def retry_delay_seconds() -> float:
    value = load_settings().value("PLATFORM_TRANSIT_RETRY_DELAY")
    try:
        delay = float(value)
    except ValueError:
        raise TransitError(f"PLATFORM_TRANSIT_RETRY_DELAY: {value!r} is not a number of seconds") from None
    if delay < 0:
        raise TransitError(f"PLATFORM_TRANSIT_RETRY_DELAY: {value!r} must not be negative")
    return delay


def url_replacements() -> dict[str, str]:
    """Placeholders a catalog URL may use: {data_dir} (the platform's data folder)."""
    return {"data_dir": str(load_settings().data_dir)}
