"""Tartare's "automatic update" on demand: every contributor export (when a source changed, or
forced), then every coverage export and publication (when a contributor has a new export).

One function for both manual entry points: `platform-assets transit update-now` and the job
`transit_update_now`, launched from the UI launchpad with its config. Each export runs as a real run
of the transit jobs on the same Dagster instance (its asset checks, holds, retries, max runtime and
failure email as for any run), tagged with who asked for it.
"""


from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dagster import (
    Config,
    DagsterInstance,
    ExecuteInProcessResult,
    Failure,
    JobDefinition,
    OpExecutionContext,
    graph,
    op,
)
from pydantic import Field

from platform_assets.core.alerts import PlatformInfo
from platform_assets.core.failures import one_line_failure
from platform_assets.core.tags import ACTION_TAG, SUBJECT_TAG, TRANSIT_TRIGGER_TAG
from platform_assets.transit.errors import TransitError
from platform_assets.transit.jobs import CONTRIBUTOR_EXPORT_JOB, COVERAGE_EXPORT_JOB, MAX_RUNTIME_TAG
from platform_assets.transit.resources import TransitSettings

if TYPE_CHECKING:
    from platform_assets.transit.catalog import Catalog

UPDATE_NOW_JOB = "transit_update_now"
Report = Callable[[str], None]


def run_transit_job(
    instance: DagsterInstance, job_name: str, partitions: str, partition_key: str, run_config: dict[str, Any],
    tags: dict[str, str], heartbeat_seconds: int,
) -> ExecuteInProcessResult:
    """Run a transit job for one partition in this process on `instance` (partition added first),
    with the definitions the code location serves, built from this process's environment.

    The run is owned by this process with a heartbeat: killed with -9, it is failed and its queue
    slots freed (core/run_liveness.py), where Dagster's run monitoring only sees launched runs."""
    from dagster import Definitions

    from platform_assets.core.defs import core_definitions
    from platform_assets.core.run_liveness import execute_owned_run
    from platform_assets.transit.defs import transit_definitions

    defs = Definitions.merge(core_definitions(), transit_definitions())
    if not instance.has_dynamic_partition(partitions, partition_key):
        instance.add_dynamic_partitions(partitions, [partition_key])
    return execute_owned_run(
        defs.resolve_job_def(job_name).execute_in_process, instance, heartbeat_seconds,
        {SUBJECT_TAG: partition_key, **tags},
        partition_key=partition_key, run_config=run_config, raise_on_error=False,
    )


def outcome_lines(job_name: str, partition_key: str, result: ExecuteInProcessResult) -> list[str]:
    """What a run made, one line per materialization; TransitError naming the run when it failed."""
    lines = []
    for event in result.get_asset_materialization_events():
        metadata = event.materialization.metadata
        uri = metadata.get("uri") or metadata.get("export_uri")
        lines.append(f"{event.asset_key.to_user_string()}[{partition_key}]: {getattr(uri, 'value', uri) or 'materialized'}")
    if not result.success:
        failure = next((e for e in result.all_events if e.is_step_failure), None)
        message = failure.event_specific_data.error.message.strip().splitlines()[0] if failure else "see the run"
        raise TransitError(f"{job_name} [{partition_key}] failed (run {result.run_id}): {message}")
    if not lines:
        lines.append(f"{job_name} [{partition_key}]: nothing changed, no new materialization (run {result.run_id})")
    return lines


def update_now(
    instance: DagsterInstance,
    catalog: "Catalog",
    trigger: str,
    report: Report,
    heartbeat_seconds: int,
    contributor_ids: list[str] | None = None,
    force: bool = False,
    today: str = "",
) -> list[str]:
    """Export the contributors (all, or `contributor_ids`), then the coverages holding one of them;
    report each run's outcome; return what failed (one failure does not stop the others)."""
    chosen = contributor_ids or [contributor.id for contributor in catalog.contributors]
    for contributor_id in chosen:
        catalog.contributor(contributor_id)  # an unknown id is an error before anything runs
    coverages = [coverage.id for coverage in catalog.coverages if set(coverage.contributors) & set(chosen)]
    tags = {TRANSIT_TRIGGER_TAG: trigger}
    failed: list[str] = []
    steps = [(CONTRIBUTOR_EXPORT_JOB, "contributors", cid, "contributor_export") for cid in chosen]
    steps += [(COVERAGE_EXPORT_JOB, "coverages", cid, "coverage_export") for cid in coverages]
    for job_name, partitions, key, asset in steps:
        config = {"ops": {asset: {"config": {"force": force, "today": today}}}}
        try:
            for line in outcome_lines(job_name, key, run_transit_job(instance, job_name, partitions, key, config, tags, heartbeat_seconds)):
                report(line)
        except TransitError as error:
            report(f"error: {error}")
            failed.append(f"{asset.split('_')[0]} {key}")
    return failed


class UpdateNowConfig(Config):
    """Launchpad options of the automatic update run now."""

    # `default=[]` (pydantic copies it per instance), not `default_factory=list`: pydantic reads a
    # factory's signature, and a builtin's costs a tokenizer start (~7 ms) on every code-location load.
    contributors: list[str] = Field(default=[], description="Contributor ids to update; empty: all of the catalog.")
    force: bool = Field(default=False, description="Export even when no source (or contributor export) changed.")
    today: str = Field(default="", description="Pin 'today' (YYYY-MM-DD) for the validity rules; empty: PLATFORM_TRANSIT_TODAY or the real date.")


@op(name="transit_update_now_op", description="Runs every contributor export, then the coverages holding them.")
def update_now_op(
    context: OpExecutionContext, config: UpdateNowConfig, transit: TransitSettings, platform: PlatformInfo
) -> None:
    with one_line_failure():
        failed = update_now(
            context.instance, transit.load_catalog(), f"update now (run {context.run_id})", context.log.info,
            platform.run_heartbeat_seconds, config.contributors or None, config.force, config.today,
        )
    if failed:
        raise Failure(description=f"update now: {len(failed)} failed: {', '.join(failed)}")


@graph(name=UPDATE_NOW_JOB)
def update_now_graph() -> None:
    update_now_op()


def build_update_now_job(max_runtime_seconds: int) -> JobDefinition:
    """The launchpad job; like every transit job it carries `dagster/max_runtime` (a stuck update is
    canceled and reported; each export it runs carries its own)."""
    return update_now_graph.to_job(
        name=UPDATE_NOW_JOB,
        tags={ACTION_TAG: "update_now", MAX_RUNTIME_TAG: str(max_runtime_seconds)},
        description="Tartare's automatic update, now (manual action): every contributor export when a source "
        "changed, then every coverage export and publication holding one of them; each as its own run. "
        "Launchpad: ops.transit_update_now_op.config.{contributors, force, today}.",
    )
