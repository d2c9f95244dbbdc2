"""`<asset>_quality_report`: one report asset per checked asset, built from its stored check run;
markdown in the UI, XLSX and HTML files in the object store. Quality defines the reports of
other systems' assets (transit's exports) by asset key, as it defines their checks."""

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AutomationCondition,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    asset,
)

from platform_assets.core.database import PlatformDatabase
from platform_assets.core.hold_guards import refuse_if_held
from platform_assets.core.metadata import ROW_COUNT, file_metadata, files_last
from platform_assets.core.objectstore import ObjectStore
from platform_assets.quality.errors import QualityError
from platform_assets.quality.ocds.prefixes import DATASET_PREFIX, FILTERED_PREFIX
from platform_assets.quality.partitions import ocds_datasets
from platform_assets.quality.resources import QualityPolicy

if TYPE_CHECKING:  # SQLAlchemy loads with the first report, not with the code location
    from platform_assets.lib.quality.storage import StoredRun

OWNERS = ["team:quality"]


def report_key(checked_asset: str, partition: str, extension: str) -> str:
    return f"quality/reports/{checked_asset}/{partition}/quality_report.{extension}"


RunLoader = Callable[[PlatformDatabase, ObjectStore, str, str], "StoredRun | None"]


def stored_run_loader(checked_asset: str) -> RunLoader:
    """Reads the latest check run the asset's own checks stored (`storage.store_check_run`)."""

    def load(database: PlatformDatabase, _store: ObjectStore, partition: str, _run_id: str) -> "StoredRun | None":
        from platform_assets.lib.quality.storage import load_check_run

        return load_check_run(database.engine, checked_asset, partition)

    return load


def after_checks() -> AutomationCondition:
    """A report's declarative automation: requested for a partition on the tick after the checks of
    its checked asset recorded a new result for it (the report reads their stored run), unless a
    run of either is in progress. Dagster orders no asset after its upstream's checks within a
    run, so the report comes in the automation's next run. A deps condition over the deps' checks,
    as Dagster's own `AutomationCondition.all_deps_blocking_checks_passed`."""
    checks_of_deps = AutomationCondition.any_deps_match
    return (
        checks_of_deps(AutomationCondition.any_checks_match(AutomationCondition.newly_updated()))
        & ~checks_of_deps(AutomationCondition.any_checks_match(AutomationCondition.in_progress()))
        & ~AutomationCondition.in_progress()
    ).with_label("after_checks")


def after_new_export() -> AutomationCondition:
    """A check's declarative automation: run for a partition on the tick after its asset's partition
    got a new materialization (and not while one is in progress). Not `eager()`: with partitioned
    checks (a preview in Dagster 1.13.27) its `since_last_handled` part saw an initial evaluation
    on every tick of `evaluate_automation_conditions` and never fired; `any_deps_updated` alone
    fires once per update."""
    return (
        AutomationCondition.any_deps_updated()
        & ~AutomationCondition.any_deps_in_progress()
        & ~AutomationCondition.in_progress()
    ).with_label("after_new_export")


def build_quality_report(
    checked_asset: str,
    partitions_def: PartitionsDefinition | None = None,
    load_run: RunLoader | None = None,
    group_name: str = "quality",
    automation_condition: AutomationCondition | None = None,
) -> AssetsDefinition:
    """`<checked_asset>_quality_report`: any system's report asset over its stored check runs.

    With the default loader, materialize it in a run after its checks: Dagster orders no asset
    after the checks of its upstream, so in one run the report could read an older check run
    (`after_checks()` does it by automation)."""
    load_run = load_run or stored_run_loader(checked_asset)

    @asset(
        # One name, not a `quality_report/` prefix: the UI draws only a key's last part, and a
        # report node named like its checked asset reads as a duplicate.
        name=f"{checked_asset}_quality_report",
        partitions_def=partitions_def,
        group_name=group_name,
        owners=OWNERS,
        kinds={"xlsx", "html"},
        deps=[AssetKey(checked_asset)],
        automation_condition=automation_condition,
        description=f"Quality report of {checked_asset}: counts per check and level, worst checks first, examples.",
    )
    def _report(
        context: AssetExecutionContext, object_store: ObjectStore, database: PlatformDatabase, quality: QualityPolicy
    ) -> MaterializeResult:
        from platform_assets.lib.quality.report import render_html, report_markdown, write_xlsx

        refuse_if_held(context, database)
        partition = context.partition_key if context.has_partition_key else ""
        formats = quality.report_formats()
        stored = load_run(database, object_store, partition, context.run.run_id)
        if stored is None:
            raise QualityError(f"no stored check run for {checked_asset} [{partition}]: run its checks first")
        title = f"Quality of {checked_asset}" + (f" [{partition}]" if partition else "") + f" ({stored.items} items)"
        folder_key = partition or "all"
        written = []
        with tempfile.TemporaryDirectory() as folder:
            if "xlsx" in formats:
                path = write_xlsx(stored.results, Path(folder) / "report.xlsx", title)
                written.append(object_store.put_file(report_key(checked_asset, folder_key, "xlsx"), path,
                                                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
            if "html" in formats:
                html = render_html(stored.results, title).encode()
                written.append(object_store.put_bytes(report_key(checked_asset, folder_key, "html"), html, "text/html"))
        failing = [result for result in stored.results if not result.ok]
        return MaterializeResult(
            metadata=files_last({
                **file_metadata(main=written[0] if written else None, written=written),
                "report": MetadataValue.md(report_markdown(stored.results, title)),
                "checks": len(stored.results),
                ROW_COUNT: len(stored.results),  # one row per check in the report
                "failing_checks": len(failing),
                "items": stored.items,
                "check_run": stored.id,
            })
        )

    return _report


def ocds_run_loader(checked_asset: str, prefix: str) -> RunLoader:
    """OCDS reports compute the checks when the asset checks have not run on this version yet."""

    def load(database: PlatformDatabase, store: ObjectStore, partition: str, run_id: str) -> "StoredRun":
        from platform_assets.quality.ocds.service import ensure_check_run

        return ensure_check_run(database.engine, store, checked_asset, partition, prefix, run_id)

    return load


def build_ocds_report(checked_asset: str, prefix: str) -> AssetsDefinition:
    return build_quality_report(checked_asset, ocds_datasets, ocds_run_loader(checked_asset, prefix))


ocds_dataset_report = build_ocds_report("ocds_dataset", DATASET_PREFIX)
ocds_filtered_dataset_report = build_ocds_report("ocds_filtered_dataset", FILTERED_PREFIX)
