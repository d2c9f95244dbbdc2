"""Demo of the dataset tracker: crawl the bundled demo dataset tree and write the tracker sheet."""

from __future__ import annotations

from dagster import DagsterInstance, Definitions

from platform_assets.core.settings import configure


def run_demo(instance: DagsterInstance, defs: Definitions) -> list[str]:
    """Run `dataset_tracker_job` on the demo sources (or PLATFORM_SOURCES_CONFIG); say what it wrote."""
    from platform_assets.core.tags import SUBJECT_TAG
    from platform_assets.dataset_tracker.errors import DatasetTrackerError
    from platform_assets.dataset_tracker.resources import TrackerSources

    sources = configure(TrackerSources, resolve=True)
    result = defs.resolve_job_def("dataset_tracker_job").execute_in_process(
        instance=instance, tags={SUBJECT_TAG: str(sources.path)}
    )
    if not result.success:
        raise DatasetTrackerError("dataset_tracker_job failed: see the run in the Dagster UI")
    lines: list[str] = []
    for event in result.get_asset_materialization_events():
        metadata = event.materialization.metadata
        key = event.asset_key.to_user_string()
        if key == "dataset_inventory":
            counts = ", ".join(
                f"{name.removeprefix('state/')} {value.value}" for name, value in metadata.items()
                if name.startswith("state/") and value.value
            )
            lines.append(
                f"dataset tracker: {metadata['accessions'].value} accessions ({counts}), "
                f"{metadata['duplicates'].value} possible duplicates, {metadata['warnings'].value} warnings"
                f" -> {metadata['uri'].value}"
            )
        elif key == "tracker_sheet":
            lines.append(
                f"tracker sheet: {metadata['sheet'].value} ({metadata['tracked_rows'].value} tracked, "
                f"{metadata['external_rows'].value} external)"
            )
    return lines
