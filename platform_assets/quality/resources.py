"""Quality's settings, as resources: which checks block, report formats, chunk size, OCDS source."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource

from platform_assets.core.settings import comma_list, setting
from platform_assets.quality.dagster_checks import CheckPolicy
from platform_assets.quality.errors import QualityError

REPORT_FORMATS = ("xlsx", "html")


class QualityPolicy(ConfigurableResource):
    """How checks are judged and reported, for OCDS and GTFS alike."""

    blocking_checks: str = setting(
        "PLATFORM_QUALITY_BLOCKING_CHECKS",
        "",
        "Comma-separated quality check names or patterns (reference.*) that block (severity ERROR); the others warn.",
    )
    report_formats_text: str = setting(
        "PLATFORM_QUALITY_REPORT_FORMATS", "xlsx,html", "Formats of quality reports written to the object store."
    )
    chunk_rows: int = setting(
        "PLATFORM_QUALITY_CHUNK_ROWS",
        "25000",
        "Rows of stop_times.txt / shapes.txt held at a time by the GTFS checks (bounds their memory).",
        minimum=1,
    )
    spill_rows: int = setting(
        "PLATFORM_QUALITY_SPILL_ROWS",
        "250000",
        "Stop times whose per-trip columns the GTFS checks hold in memory; past that they wait on disk "
        "(the object store's work folder) and the per-trip rules run bucket by bucket (bounds their memory).",
        minimum=1,
    )

    def blocking(self) -> frozenset[str]:
        return frozenset(comma_list(self.blocking_checks))

    def check_policy(self) -> CheckPolicy:
        return CheckPolicy(blocking=self.blocking())

    def report_formats(self) -> list[str]:
        formats = comma_list(self.report_formats_text)
        bad = [f for f in formats if f not in REPORT_FORMATS]
        if bad:
            raise QualityError(f"PLATFORM_QUALITY_REPORT_FORMATS: {bad[0]!r} is not one of: {', '.join(REPORT_FORMATS)}")
        return formats


class OcdsSource(ConfigurableResource):
    """The folder of OCDS dataset folders the quality system checks."""

    root: str = setting("PLATFORM_OCDS_SOURCE", "{package}/quality/demo/ocds", "OCDS data folder checked by quality.")

    @property
    def path(self) -> Path:
        return Path(self.root).absolute()
