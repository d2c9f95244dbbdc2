"""Transit's settings, as a resource every transit asset, sensor and schedule takes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from dagster import ConfigurableResource

from platform_assets.core.settings import setting
from platform_assets.transit.errors import TransitError
from platform_assets.transit.limits import TransferLimits, TransitLimits
from platform_assets.transit.store import StateLock, file_state_lock
from platform_assets.transit.unknown_params import UNKNOWN_PARAM_MODES

if TYPE_CHECKING:
    from platform_assets.transit.catalog import Catalog


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
    unknown_preprocess_params: str = setting(
        "PLATFORM_TRANSIT_UNKNOWN_PREPROCESS_PARAMS",
        "refuse",
        "A preprocess param the preprocess does not know: 'refuse' fails the export naming it; 'ignore' drops it "
        "with a log line (Tartare's behaviour, for catalogs written for Tartare).",
        choices=UNKNOWN_PARAM_MODES,
    )

    max_runtime: int = setting(
        "PLATFORM_TRANSIT_MAX_RUNTIME",
        "14400",
        "Seconds a transit run may take before run monitoring cancels it as stuck and it is reported as failed "
        "(Tartare: 4 hours).",
        minimum=1,
    )
    # Limits on what a source or a publication may cost (README "Limits").
    connect_timeout: str = setting(
        "PLATFORM_TRANSIT_CONNECT_TIMEOUT", "30", "Seconds to connect to a data source or publication server."
    )
    idle_timeout: str = setting(
        "PLATFORM_TRANSIT_IDLE_TIMEOUT", "60", "Seconds a fetch or upload may wait for the next bytes before it fails."
    )
    fetch_deadline: str = setting(
        "PLATFORM_TRANSIT_FETCH_DEADLINE", "1800", "Seconds a whole data source download may take (HTTP, FTP)."
    )
    upload_deadline: str = setting(
        "PLATFORM_TRANSIT_UPLOAD_DEADLINE", "1800", "Seconds a whole publication upload may take (HTTP, FTP, S3)."
    )
    max_download_bytes: int = setting(
        "PLATFORM_TRANSIT_MAX_DOWNLOAD_BYTES",
        "2147483648",
        "Largest data source download (bytes); past it the fetch stops, the partial file is deleted, the last data set stays.",
        minimum=1,
    )
    max_file_bytes: int = setting(
        "PLATFORM_TRANSIT_MAX_FILE_BYTES", "536870912", "Largest uncompressed file inside a feed zip (bytes).", minimum=1
    )
    max_feed_bytes: int = setting(
        "PLATFORM_TRANSIT_MAX_FEED_BYTES", "1073741824", "Largest uncompressed feed zip, all files (bytes).", minimum=1
    )
    max_compression_ratio: int = setting(
        "PLATFORM_TRANSIT_MAX_COMPRESSION_RATIO",
        "100",
        "Largest uncompressed:compressed ratio of a feed zip member past 16 MiB (a zip bomb is refused).",
        minimum=1,
    )
    lock_dir: str = setting(
        "PLATFORM_TRANSIT_LOCK_DIR",
        "{data_dir}/locks/transit",
        "Lock files serialising updates of one contributor's or coverage's state (runs on this machine).",
    )

    def load_catalog(self) -> Catalog:
        from platform_assets.transit.catalog import load_catalog

        return load_catalog(Path(self.catalog_path), self.unknown_preprocess_params)

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


    def _seconds(self, name: str, value: str) -> float:
        try:
            seconds = float(value)
        except ValueError:
            raise TransitError(f"{name}: {value!r} is not a number of seconds") from None
        if seconds <= 0:
            raise TransitError(f"{name}: {value!r} must be more than 0 seconds")
        return seconds

    def limits(self) -> TransitLimits:
        """Every transit limit (README "Limits")."""
        from platform_assets.lib.gtfs.limits import ZipLimits

        connect = self._seconds("PLATFORM_TRANSIT_CONNECT_TIMEOUT", self.connect_timeout)
        idle = self._seconds("PLATFORM_TRANSIT_IDLE_TIMEOUT", self.idle_timeout)
        return TransitLimits(
            fetch=TransferLimits(connect, idle, self._seconds("PLATFORM_TRANSIT_FETCH_DEADLINE", self.fetch_deadline),
                                 self.max_download_bytes),
            upload=TransferLimits(connect, idle,
                                  self._seconds("PLATFORM_TRANSIT_UPLOAD_DEADLINE", self.upload_deadline), 0),
            archive=ZipLimits(max_member_bytes=self.max_file_bytes, max_feed_bytes=self.max_feed_bytes,
                              max_ratio=self.max_compression_ratio),
        )

    def state_lock(self) -> StateLock:
        """The lock serialising state updates of one contributor, coverage or data source."""
        return file_state_lock(Path(self.lock_dir))


def url_replacements(data_dir: Path) -> dict[str, str]:
    """Placeholders a catalog URL may use: {data_dir} (the platform's data folder)."""
    return {"data_dir": str(data_dir)}
