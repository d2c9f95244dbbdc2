"""The one hold guard every asset, op, sensor and schedule uses (`refuse_if_held` in bodies,
`skip_when_held` under `@sensor` / `@schedule`), and which process a run belongs to. The holds
themselves are in `core/holds.py` (a SQLAlchemy table), imported when a guard first runs, so
that loading the code location does not import SQLAlchemy.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from platform_assets.core.holds import Hold

F = TypeVar("F", bound=Callable[..., Any])

# Dagster's hidden jobs (`__ASSET_JOB...` for UI launches, `__ephemeral_asset_job__` for
# `materialize()`) are not processes of their own: their assets name the process.
HIDDEN_JOB_PREFIX = "__"


def process_name_for_run(job_name: str, asset_keys: Iterable[str] = ()) -> str:
    """The process a run belongs to: its job name, or for ad-hoc asset runs its sorted asset keys."""
    if job_name.startswith(HIDDEN_JOB_PREFIX):
        keys = sorted(asset_keys)
        return ",".join(keys) if keys else job_name
    return job_name


def process_of_assets(job_name: str, asset_keys: Iterable[str], assets_by_job: Mapping[str, frozenset[str]]) -> str:
    """The one process a run is tracked as: its job; for an ad-hoc asset run (a Materialize click),
    the named job that materializes all its assets (the smallest such job), else the only job that
    materializes some of them, else its asset list. So a failing ad-hoc run of a job's assets counts
    toward that job's hold, and a refused one is recorded under the process that is held."""
    if not job_name.startswith(HIDDEN_JOB_PREFIX):
        return job_name
    keys = set(asset_keys)
    if keys:
        owners = sorted((len(assets), name) for name, assets in assets_by_job.items() if keys & assets)
        covering = [name for size, name in owners if keys <= assets_by_job[name]]
        if covering:
            return covering[0]
        if len(owners) == 1:
            return owners[0][1]
    return process_name_for_run(job_name, keys)


# -- the one guard every asset, op, sensor and schedule uses ------------------------------------


# The code location's definitions, recorded when they are built (`platform_assets.definitions`),
# for runs whose context carries no repository (in-process runs). Resolved only when needed,
# inside a run: resolving while the definitions are being loaded would need an instance.
_DEFINITIONS: list[Any] = []


def record_definitions(defs: Any) -> None:
    """Remember the code location's definitions (to find which jobs materialize an asset)."""
    _DEFINITIONS[:] = [defs]


def assets_by_job(jobs: Iterable[Any]) -> dict[str, frozenset[str]]:
    """The asset keys each named job (not Dagster's hidden asset jobs) materializes."""
    return {job.name: frozenset(key.to_user_string() for key in job.asset_layer.selected_asset_keys)
            for job in jobs if not job.name.startswith(HIDDEN_JOB_PREFIX)}


def assets_by_job_of(repository: Any) -> dict[str, frozenset[str]]:
    """`assets_by_job` of a repository definition (empty when there is none or it cannot say)."""
    try:
        return assets_by_job(repository.get_all_jobs()) if repository is not None else {}
    except Exception:  # a context without a repository raises on access
        return {}


def _job_assets(context: Any) -> dict[str, frozenset[str]]:
    try:
        repository = context.repository_def
    except Exception:  # an in-process run has no repository on its context: use the record
        repository = None
    found = assets_by_job_of(repository)
    if not found and _DEFINITIONS:
        found = assets_by_job(_DEFINITIONS[0].get_repository_def().get_all_jobs())
    return found


def processes_of_run(context: Any) -> list[str]:
    """Every process a run belongs to: its job, and every job of the code location that
    materializes one of the run's assets. So a hold on `dataset_tracker_job` also stops a
    Materialize click on its assets (an ad-hoc run of Dagster's hidden asset job)."""
    job_name = context.run.job_name
    has_assets = getattr(context, "has_assets_def", False)
    keys = {key.to_user_string() for key in context.selected_asset_keys} if has_assets else set()
    names = [] if job_name.startswith(HIDDEN_JOB_PREFIX) else [job_name]
    if keys:
        for name, assets in sorted(_job_assets(context).items()):
            if name not in names and keys & assets:
                names.append(name)
        if not names:  # an asset no named job materializes: the process is named after its assets
            names.append(process_name_for_run(job_name, keys))
    return names


def refuse_if_held(context: Any, database: Any) -> None:
    """First line of every asset or op body: refuse the run, before any work, when one of its
    processes is on hold, as a whole or for the run's partition (ProcessOnHoldError names the
    hold; tracking records the run as refused, not failed).

    `context` is an asset or op execution context; `database` the PlatformDatabase resource."""
    from platform_assets.core.holds import ProcessOnHoldError, hold_of

    partition = context.partition_key if getattr(context, "has_partition_key", False) else None
    for process in processes_of_run(context):
        hold = hold_of(database.engine, process, partition)
        if hold is not None:
            raise ProcessOnHoldError(hold.message())


def skip_when_held(process: str | Callable[[], str]) -> Callable[[F], F]:
    """Put under `@sensor` / `@schedule`: while `process` (a job name, or a callable giving it) is
    on hold, a tick returns a SkipReason naming the hold instead of evaluating; while only some of
    its partitions are held, the run requests for those partitions are dropped (and logged). The
    decorated function must take the `database` resource."""

    def decorate(evaluate: F) -> F:
        @functools.wraps(evaluate)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            from dagster import SkipReason

            from platform_assets.core.holds import held_partitions, hold_of

            database = kwargs.get("database")
            if database is None:
                raise TypeError(f"{evaluate.__name__} must take the `database` resource to be guarded by holds")
            name = process() if callable(process) else process
            hold = hold_of(database.engine, name)
            if hold is not None:
                return SkipReason(hold.message())
            result = evaluate(*args, **kwargs)
            held = held_partitions(database.engine, name)
            if not held:
                return result
            context = args[0] if args else kwargs.get("context")
            return _without_held_partitions(result, held, getattr(context, "log", None))

        return guarded  # type: ignore[return-value]

    return decorate


def _without_held_partitions(result: Any, held: dict[str, Hold], log: Any) -> Any:
    """`result` (a RunRequest, a list of them or a SensorResult) without requests for held partitions."""
    from dagster import RunRequest, SensorResult, SkipReason

    def keep(request: Any) -> bool:
        hold = held.get(getattr(request, "partition_key", None) or "")
        if hold is not None and log is not None:
            log.info(f"run request dropped: {hold.message()}")
        return hold is None

    if isinstance(result, RunRequest):
        return result if keep(result) else SkipReason(held[result.partition_key or ""].message())
    if isinstance(result, list):
        kept = [request for request in result if not isinstance(request, RunRequest) or keep(request)]
        return kept or SkipReason(f"every requested partition is on hold ({', '.join(sorted(held))})")
    if isinstance(result, SensorResult) and result.run_requests:
        kept = [request for request in result.run_requests if keep(request)]
        if len(kept) != len(result.run_requests):
            return SensorResult(
                run_requests=kept,
                skip_reason=None if kept else SkipReason(f"every requested partition is on hold ({', '.join(sorted(held))})"),
                cursor=result.cursor,
                dynamic_partitions_requests=result.dynamic_partitions_requests,
                asset_events=result.asset_events,
            )
    return result
