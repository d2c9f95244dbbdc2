"""Transit's settings, as a resource every transit asset, sensor and schedule takes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from dagster import ConfigurableResource

from platform_assets.core.settings import setting
from platform_assets.transit.catalog import Catalog, load_catalog
from platform_assets.transit.errors import TransitError


class TransitSettings(ConfigurableResource):
    """Where the catalog is, how long to wait before retrying an outage, and an optional 'today'."""

    catalog_path: str = setting(
        "PLATFORM_CATALOG", "{package}/transit/demo/catalog.yaml", "Transit catalog (contributors, coverages)."
    )
    retry_delay: str = setting(
        "PLATFORM_TRANSIT_RETRY_DELAY", "180", "Seconds before the one retry of a failed fetch/export step."
    )
    today: str = setting(
        "PLATFORM_TRANSIT_TODAY",
        "",
        "Pin 'today' (YYYY-MM-DD) for the validity rules, e.g. to replay archived feeds; empty: the real date.",
    )

    def load_catalog(self) -> Catalog:
        return load_catalog(Path(self.catalog_path))

    def reference_today(self, override: str = "", catalog: Catalog | None = None) -> date:
        """'Today' for the validity rules: a run's override, else PLATFORM_TRANSIT_TODAY, else the
        catalog's `today`, else the UTC date."""
        value = override or self.today
        if not value:
            return catalog.today if catalog is not None and catalog.today else datetime.now(UTC).date()
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise TransitError(f"PLATFORM_TRANSIT_TODAY / today: {value!r} is not a YYYY-MM-DD date") from None

    def retry_delay_seconds(self) -> float:
        try:
            delay = float(self.retry_delay)
        except ValueError:
            raise TransitError(f"PLATFORM_TRANSIT_RETRY_DELAY: {self.retry_delay!r} is not a number of seconds") from None
        if delay < 0:
            raise TransitError(f"PLATFORM_TRANSIT_RETRY_DELAY: {self.retry_delay!r} must not be negative")
        return delay


def url_replacements(data_dir: Path) -> dict[str, str]:
    """Placeholders a catalog URL may use: {data_dir} (the platform's data folder)."""
    return {"data_dir": str(data_dir)}
