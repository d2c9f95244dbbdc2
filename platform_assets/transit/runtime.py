"""Small helpers the Dagster layer and the CLI share (no Dagster imports)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from platform_assets.core.settings import load_settings
from platform_assets.lib.gtfs.reader import ZipLimits
from platform_assets.transit.catalog import Catalog, load_catalog
from platform_assets.transit.errors import TransitError
from platform_assets.transit.limits import TransferLimits, TransitLimits
from platform_assets.transit.store import StateLock, file_state_lock


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


def _seconds(name: str) -> float:
    value = load_settings().value(name)
    try:
        seconds = float(value)
    except ValueError:
        raise TransitError(f"{name}: {value!r} is not a number of seconds") from None
    if seconds <= 0:
        raise TransitError(f"{name}: {value!r} must be more than 0 seconds")
    return seconds


def transit_limits() -> TransitLimits:
    """Every transit limit from the settings (README "Limits")."""
    settings = load_settings()
    connect, idle = _seconds("PLATFORM_TRANSIT_CONNECT_TIMEOUT"), _seconds("PLATFORM_TRANSIT_IDLE_TIMEOUT")
    return TransitLimits(
        fetch=TransferLimits(connect, idle, _seconds("PLATFORM_TRANSIT_FETCH_DEADLINE"),
                             settings.whole_number("PLATFORM_TRANSIT_MAX_DOWNLOAD_BYTES", 1)),
        upload=TransferLimits(connect, idle, _seconds("PLATFORM_TRANSIT_UPLOAD_DEADLINE"), 0),
        archive=ZipLimits(
            max_member_bytes=settings.whole_number("PLATFORM_TRANSIT_MAX_FILE_BYTES", 1),
            max_feed_bytes=settings.whole_number("PLATFORM_TRANSIT_MAX_FEED_BYTES", 1),
            max_ratio=settings.whole_number("PLATFORM_TRANSIT_MAX_COMPRESSION_RATIO", 1),
        ),
    )


def state_lock() -> StateLock:
    """The lock serialising state updates of one contributor, coverage or data source."""
    return file_state_lock(Path(load_settings().value("PLATFORM_TRANSIT_LOCK_DIR")))
