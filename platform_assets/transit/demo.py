"""The transit demo: export every contributor of the demo catalog, then export and publish both
coverages, on the given instance with the platform's jobs; a second pass shows change detection."""

from __future__ import annotations

from dagster import DagsterInstance, Definitions, ExecuteInProcessResult

from platform_assets.core.settings import configure
from platform_assets.transit.jobs import CONTRIBUTOR_EXPORT_JOB, COVERAGE_EXPORT_JOB
from platform_assets.transit.resources import TransitSettings


def _sync_partitions(instance: DagsterInstance, name: str, wanted: list[str]) -> None:
    existing = set(instance.get_dynamic_partitions(name))
    missing = [key for key in wanted if key not in existing]
    if missing:
        instance.add_dynamic_partitions(name, missing)


def _checks_line(result: ExecuteInProcessResult, asset: str, partition: str) -> list[str]:
    """The GTFS asset checks the run evaluated on `asset` (a family fails when a member check fails)."""
    evaluations = [e for e in result.get_asset_check_evaluations() if e.asset_key.to_user_string() == asset]
    expiry = [e for e in evaluations if e.check_name == "contributor_expiry"]
    evaluations = [e for e in evaluations if e.check_name != "contributor_expiry"]
    lines: list[str] = []
    if evaluations:
        failing = [e.check_name for e in evaluations if not e.passed]
        verdict = "all pass" if not failing else f"failing: {', '.join(failing)}"
        lines.append(f"transit:   GTFS checks on {asset}[{partition}]: {len(evaluations)} families, {verdict}")
    for evaluation in expiry:
        lines.append(f"transit:   contributor expiry on {asset}[{partition}]: {evaluation.description}")
    return lines


# Quality's job of the contributor checks, named (transit imports no other system): the code
# location's automation runs it after each new export; the demo runs it in process the same way.
CONTRIBUTOR_CHECKS_JOB = "contributor_export_gtfs_checks"


def _contributor_checks(instance: DagsterInstance, defs: Definitions, contributor_id: str) -> list[str]:
    if not any(getattr(job, "name", None) == CONTRIBUTOR_CHECKS_JOB for job in defs.jobs or []):
        return []
    # A partition tag, not `partition_key=`: Dagster infers no partitions for a job of checks only.
    result = defs.resolve_job_def(CONTRIBUTOR_CHECKS_JOB).execute_in_process(
        instance=instance, tags={"dagster/partition": contributor_id}, raise_on_error=False
    )
    return _checks_line(result, "contributor_export", contributor_id)


def run_demo(instance: DagsterInstance, defs: Definitions) -> list[str]:
    catalog = configure(TransitSettings, resolve=True).load_catalog()
    _sync_partitions(instance, "contributors", [c.id for c in catalog.contributors])
    _sync_partitions(instance, "coverages", [c.id for c in catalog.coverages])
    lines: list[str] = []
    contributor_job = defs.resolve_job_def(CONTRIBUTOR_EXPORT_JOB)
    coverage_job = defs.resolve_job_def(COVERAGE_EXPORT_JOB)
    for contributor in catalog.contributors:
        result = contributor_job.execute_in_process(instance=instance, partition_key=contributor.id)
        events = result.get_asset_materialization_events()
        if not events:
            lines.append(f"transit: contributor {contributor.id}: unchanged since the last export")
        for event in events:
            md = event.materialization.metadata
            lines.append(
                f"transit: contributor {contributor.id} export {md['uri'].value} "
                f"({md['validity_start'].value}..{md['validity_end'].value}, {md['stops_count'].value} stops)"
            )
            lines += _contributor_checks(instance, defs, contributor.id)
    for coverage in catalog.coverages:
        result = coverage_job.execute_in_process(instance=instance, partition_key=coverage.id)
        events = result.get_asset_materialization_events()
        if not events:
            lines.append(f"transit: coverage {coverage.id}: no contributor changed, nothing exported")
        for event in events:
            md = event.materialization.metadata
            if event.asset_key.to_user_string() == "coverage_export":
                lines.append(f"transit: coverage {coverage.id} export {md['uri'].value} ({md['trips_count'].value} trips)")
                lines += _checks_line(result, "coverage_export", coverage.id)
            else:
                for publication in md["publications"].value:
                    lines.append(
                        f"transit: coverage {coverage.id} published to {publication['environment']} "
                        f"{publication['type']}: {publication['target']}"
                    )
    again = contributor_job.execute_in_process(instance=instance, partition_key=catalog.contributors[0].id)
    if not again.get_asset_materialization_events():
        lines.append(f"transit: second run of {catalog.contributors[0].id}: sources unchanged, no new export")
    return lines
