"""The quality demo: load every OCDS dataset folder, check it, report on it; then a filtered subset."""

from __future__ import annotations

from dagster import DagsterInstance, Definitions, ExecuteInProcessResult

from platform_assets.core.settings import configure
from platform_assets.quality.ocds.loader import list_datasets
from platform_assets.quality.partitions import ocds_datasets
from platform_assets.quality.resources import OcdsSource


def _report_uri(result: ExecuteInProcessResult, key_path: list[str]) -> str:
    for event in result.get_asset_materialization_events():
        if event.asset_key.path == key_path:
            metadata = event.materialization.metadata
            return f"{metadata['uri'].value} ({metadata['failing_checks'].value}/{metadata['checks'].value} checks failing)"
    return "no report"


def run_demo(instance: DagsterInstance, defs: Definitions) -> list[str]:
    root = configure(OcdsSource, resolve=True).path
    datasets = list_datasets(root)
    instance.add_dynamic_partitions(ocds_datasets.name, datasets)
    lines: list[str] = []
    job = defs.resolve_job_def("ocds_quality_job")
    for dataset in datasets:
        result = job.execute_in_process(instance=instance, partition_key=dataset, raise_on_error=True)
        items = next(
            event.materialization.metadata["compiled_releases"].value
            for event in result.get_asset_materialization_events()
            if event.asset_key.path == ["ocds_dataset"]
        )
        lines.append(f"quality: {dataset}: {items} compiled releases, report {_report_uri(result, ['ocds_dataset_quality_report'])}")
    if {"cdmx", "cdmx_split"} <= set(datasets):
        # Time-based checks against an ancestor dataset: the split packages hold 2 of cdmx's 3 ocids.
        against = job.execute_in_process(
            instance=instance,
            partition_key="cdmx",
            run_config={"ops": {"ocds_dataset": {"config": {"ancestor": "cdmx_split"}}}},
        )
        time_based = next(e for e in against.get_asset_check_evaluations() if e.check_name == "time_based")
        lines.append(
            f"quality: cdmx against ancestor cdmx_split: time-based checks {'pass' if time_based.passed else 'fail'} "
            f"({time_based.metadata['passed'].value} passed, {time_based.metadata['failed'].value} failed)"
        )
    if "portugal" in datasets:
        filtered = defs.resolve_job_def("ocds_filtered_quality_job").execute_in_process(
            instance=instance,
            partition_key="portugal",
            run_config={"ops": {"ocds_filtered_dataset": {"config": {"regex": "Lisboa", "max_items": 20}}}},
        )
        lines.append(f"quality: portugal filtered (regex Lisboa, max 20): report {_report_uri(filtered, ['ocds_filtered_dataset_quality_report'])}")
    return lines
