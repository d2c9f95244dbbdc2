"""Dagster runs -> process runs: what a run is (process, sources, targets, actor) and what it did
(status, error, files from its materializations' metadata), read from the instance's event log.

Used by the run status sensors, the status report (to catch up runs the sensors never saw:
runs finished before a sensor's first tick, `execute_in_process` runs) and the demo.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from dagster import AssetKey, DagsterEventType, DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter
from dagster._core.definitions.assets.graph.base_asset_graph import BaseAssetGraph
from dagster._core.storage.dagster_run import RunRecord
from dagster._core.storage.tags import PARTITION_NAME_TAG, SCHEDULE_NAME_TAG, SENSOR_NAME_TAG, WILL_RETRY_TAG
from dagster._utils.error import SerializableErrorInfo

from platform_assets.core.hold_guards import process_of_assets
from platform_assets.core.metadata import files_from_metadata
from platform_assets.core.tags import EXPECTED_EVERY_TAG, PROCESS_TYPE_TAG
from platform_assets.tracking.lineage import LineageEmitter, LineageRun

if TYPE_CHECKING:
    from platform_assets.tracking.models import ProcessRun
    from platform_assets.tracking.tracker import ProcessTracker


TOOL = "dagster"
KIND_TAG_PREFIX = "dagster/kind/"
# Assets or jobs may say what kind of process they are; otherwise it is guessed from the graph.
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
USER_TAGS = ("dagster/user", "user")
ROW_COUNT_KEYS = ("dagster/row_count", "records_written", "rows")
ROWS_READ_KEYS = ("records_read",)
FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
# Root causes that mean the run was refused before doing anything, not that it failed.
REFUSALS = frozenset({"ProcessOnHoldError", "ProcessAlreadyRunningError"})


@dataclass(frozen=True)
class RunDescription:
    """What tracking needs to know about a Dagster run to register it as a process run."""

    process_name: str
    process_type: str
    actor: str
    sources: list[str]
    targets: list[str]
    system_kinds: dict[str, str] = field(default_factory=dict)
    partition: str | None = None
    expected_every_seconds: int | None = None


def parse_every(text: str | None) -> int | None:
    """Seconds of "90s" / "30m" / "6h" / "1d" / "3600"; None when absent or not a duration."""
    if not text:
        return None
    value = text.strip().lower()
    unit = DURATION_UNITS.get(value[-1:], None)
    number = value[:-1] if unit else value
    if not number.isdigit() or int(number) == 0:
        return None
    return int(number) * (unit or 1)


def actor_of(tags: Mapping[str, str]) -> str:
    """Who started the run: its schedule, its sensor, a backfill, else the user (or "user")."""
    if tags.get(SCHEDULE_NAME_TAG):
        return f"schedule:{tags[SCHEDULE_NAME_TAG]}"
    if tags.get(SENSOR_NAME_TAG):
        return f"sensor:{tags[SENSOR_NAME_TAG]}"
    if tags.get("dagster/backfill"):
        return f"backfill:{tags['dagster/backfill']}"
    for tag in USER_TAGS:
        if tags.get(tag):
            return tags[tag]
    return "user"


def _planned_asset_keys(instance: DagsterInstance, run: DagsterRun) -> set[AssetKey]:
    if run.asset_selection:
        return set(run.asset_selection)
    records = instance.get_records_for_run(
        run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION_PLANNED
    ).records
    return {record.asset_key for record in records if record.asset_key is not None}


def describe_run(
    instance: DagsterInstance,
    run: DagsterRun,
    asset_graph: BaseAssetGraph | None = None,
    assets_by_job: Mapping[str, frozenset[str]] | None = None,
) -> RunDescription:
    """Process name from the job (for an ad-hoc asset run, the job of `assets_by_job` that
    materializes its assets, else the assets), sources = upstream assets outside the run,
    targets = the assets it materializes, kinds from the assets' `dagster/kind/*` tags.
    """
    from platform_assets.tracking.models import PROCESS_TYPES

    keys = _planned_asset_keys(instance, run)
    graph = asset_graph
    sources: set[AssetKey] = set()
    kinds: dict[str, str] = {}
    declared_types: set[str] = set()
    parents = {parent for target in keys if graph and graph.has(target) for parent in graph.get(target).parent_keys}
    for key in keys | parents:
        if graph is None or not graph.has(key):
            continue
        node = graph.get(key)
        if key not in keys:
            sources.add(key)
        node_kinds = sorted(tag.removeprefix(KIND_TAG_PREFIX) for tag in node.tags if tag.startswith(KIND_TAG_PREFIX))
        if node_kinds:
            kinds[key.to_user_string()] = ",".join(node_kinds)
        if key in keys and node.tags.get(PROCESS_TYPE_TAG):
            declared_types.add(node.tags[PROCESS_TYPE_TAG])
    declared = run.tags.get(PROCESS_TYPE_TAG) or (declared_types.pop() if len(declared_types) == 1 else None)
    if declared in PROCESS_TYPES:
        process_type = str(declared)
    elif not keys:
        process_type = "other"  # an op job: nothing to guess from
    else:
        # Reading only external assets (the real sources, declared as AssetSpecs) is an extract.
        built_sources = {key for key in sources if graph is not None and graph.get(key).is_executable}
        process_type = "transform" if built_sources else "extract"
    target_names = sorted(key.to_user_string() for key in keys)
    return RunDescription(
        process_name=process_of_assets(run.job_name, target_names, assets_by_job or {}),
        process_type=process_type,
        actor=actor_of(run.tags),
        sources=sorted(key.to_user_string() for key in sources),
        targets=target_names,
        system_kinds=kinds,
        partition=run.tags.get(PARTITION_NAME_TAG),
        expected_every_seconds=parse_every(run.tags.get(EXPECTED_EVERY_TAG)),
    )


def _timestamp(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def _started_at(record: RunRecord | None) -> datetime | None:
    if record is None:
        return None
    return _timestamp(record.start_time) or record.create_timestamp


@dataclass(frozen=True)
class RunFailure:
    exception: str
    message: str
    step: str | None
    # The cause chain, outermost first, and the root cause's stack (RunError.detail).
    detail: str | None = None


# Dagster's wrappers around the user's exception: the step failure wrapper ("Error occurred while
# executing op ..."), and the retry wrappers whose message is only "Exceeded max_retries of 1".
RETRY_WRAPPERS = frozenset({"RetryRequested", "RetryRequestedFromPolicy"})
# Dagster's `Failure` raised `from` an error (core.failures.one_line_failure turns every platform
# error into one) wraps it too: its cause is the real error. A bare `Failure` is the error itself.
FAILURE_WRAPPER = "Failure"
MAX_CHAIN = 20
MAX_DETAIL_CHARS = 20_000


def _is_wrapper(error: SerializableErrorInfo) -> bool:
    name = error.cls_name or ""
    if name == FAILURE_WRAPPER:
        return (error.cause or error.context) is not None
    return name in RETRY_WRAPPERS or name.startswith("Dagster")


def error_chain(error: SerializableErrorInfo) -> list[SerializableErrorInfo]:
    """The error and its causes (explicit `from`, else the implicit context), outermost first."""
    chain: list[SerializableErrorInfo] = []
    current: SerializableErrorInfo | None = error
    while current is not None and len(chain) < MAX_CHAIN:
        chain.append(current)
        current = current.cause or current.context
    return chain


def root_cause(error: SerializableErrorInfo) -> SerializableErrorInfo:
    """The first error of the chain that is not one of Dagster's wrappers (the user's exception);
    the innermost one when the chain holds nothing else."""
    chain = error_chain(error)
    return next((link for link in chain if not _is_wrapper(link)), chain[-1])


def _error_text(error: SerializableErrorInfo) -> str:
    """`Class: message`; Dagster's message may already start with the class's dotted path."""
    message = error.message.strip()
    head, separator, rest = message.partition(": ")
    if separator and head.rsplit(".", 1)[-1] == error.cls_name:
        message = rest
    return f"{error.cls_name}: {message}"


def chain_detail(error: SerializableErrorInfo) -> str:
    """Every link of the chain on its own line (`caused by ...`), then the stacks of the links that
    are not Dagster's wrappers (the root cause and what caused it)."""
    chain = error_chain(error)
    lines = [_error_text(link) if index == 0 else f"caused by {_error_text(link)}" for index, link in enumerate(chain)]
    for link in chain:
        if link.stack and not _is_wrapper(link):
            lines += ["", f"stack of {link.cls_name}:", "".join(link.stack).rstrip()]
    return "\n".join(lines)[:MAX_DETAIL_CHARS]


def failure_of(instance: DagsterInstance, run_id: str) -> RunFailure:
    """The first step failure of the run (else the run failure itself), from the event log, as its
    root cause (Dagster's retry and step wrappers unwrapped) with the whole chain as detail."""
    records = instance.get_records_for_run(
        run_id, of_type={DagsterEventType.STEP_FAILURE, DagsterEventType.RUN_FAILURE}
    ).records
    for record in sorted(records, key=lambda r: r.event_log_entry.dagster_event_type != DagsterEventType.STEP_FAILURE):
        event = record.event_log_entry.dagster_event
        error = getattr(event.event_specific_data, "error", None) if event else None
        if error is not None:
            root = root_cause(error)
            return RunFailure(root.cls_name or "Error", _error_text(root), event.step_key, chain_detail(error))
        if event is not None and event.message:
            return RunFailure("RunFailure", event.message, event.step_key)
    return RunFailure("RunFailure", "the run failed", None)


def _every_step_skipped(instance: DagsterInstance, run_id: str) -> bool:
    """A successful run whose steps were all skipped (no output to work on) did not do its work."""
    records = instance.get_records_for_run(
        run_id, of_type={DagsterEventType.STEP_SKIPPED, DagsterEventType.STEP_SUCCESS}
    ).records
    kinds = {record.event_log_entry.dagster_event_type for record in records}
    return kinds == {DagsterEventType.STEP_SKIPPED}


def _materialization_metadata(instance: DagsterInstance, run_id: str) -> list[Mapping[str, object]]:
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records
    return [
        record.asset_materialization.metadata for record in records if record.asset_materialization is not None
    ]


def _plain(value: object) -> object:
    return getattr(value, "value", value)


def file_events(metadata: Mapping[str, object]) -> list[dict[str, object]]:
    """The `platform/files` events of a materialization; an asset that only gives its main file as
    `uri` / `size` / `sha256` (and no `platform/files`) wrote that file.
    """
    events = files_from_metadata(dict(metadata))
    if not events and isinstance(_plain(metadata.get("uri")), str):
        events = [
            {"uri": _plain(metadata["uri"]), "size": _plain(metadata.get("size")),
             "sha256": _plain(metadata.get("sha256")), "action": "written"}
        ]
    return events


def _row_count(metadata: Iterable[Mapping[str, object]], keys: tuple[str, ...] = ROW_COUNT_KEYS) -> int | None:
    """The sum over materializations of the first count each gives under `keys`."""
    total = None
    for values in metadata:
        for key in keys:
            value = getattr(values.get(key), "value", values.get(key))
            if isinstance(value, int):
                total = (total or 0) + value
                break
    return total


def track_dagster_run(
    tracker: ProcessTracker,
    instance: DagsterInstance,
    run: DagsterRun,
    asset_graph: BaseAssetGraph | None = None,
    lineage: LineageEmitter | None = None,
    assets_by_job: Mapping[str, frozenset[str]] | None = None,
) -> ProcessRun:
    """Register (idempotently) the Dagster run as a process run in the state it is in now.
    With `lineage`, a run seen for the first time is sent as an OpenLineage START event and a
    finished one as COMPLETE, FAIL or ABORT (canceled, refused or skipped).

    A finished run gets its files (materialization metadata) registered as extracts and is
    completed, or failed with its error (possibly putting the process on hold). A run that failed
    because its process is on hold (ProcessOnHoldError) is recorded as refused (`on hold`).
    """
    described = describe_run(instance, run, asset_graph, assets_by_job)
    tracker.register_process(
        described.process_name,
        type=described.process_type,
        tool=TOOL,
        sources=described.sources or None,
        targets=described.targets or None,
        system_kinds=described.system_kinds,
        expected_every_seconds=described.expected_every_seconds,
    )
    record = instance.get_run_record_by_id(run.run_id)
    status = record.dagster_run.status if record is not None else run.status
    known = tracker.run_by_dagster_id(run.run_id)
    process_run = tracker.start_run(
        described.process_name,
        actor=described.actor,
        dagster_run_id=run.run_id,
        partition=described.partition,
        started_at=_started_at(record),
        check_hold=False,
    )
    lineage_run = LineageRun(run.run_id, described.process_name, described.sources, described.targets)
    if lineage is not None and known is None:
        lineage.emit("START", lineage_run, _started_at(record))
    if process_run.status != "running" or status not in FINISHED:
        return process_run
    finished = _track_finished(tracker, instance, run, record, process_run, status)
    if lineage is not None:
        written = [
            str(event["uri"]) for values in _materialization_metadata(instance, run.run_id)
            for event in file_events(values) if event.get("action") == "written"
        ]
        error = None
        if finished.status == "failed":
            error = failure_of(instance, run.run_id).message
        event_type = {"completed": "COMPLETE", "failed": "FAIL"}.get(finished.status, "ABORT")
        lineage.emit(event_type, LineageRun(run.run_id, described.process_name, described.sources,
                                            described.targets, written, error), as_ended(finished))
    return finished


def as_ended(process_run: ProcessRun) -> datetime | None:
    ended = process_run.ended_at
    return ended.replace(tzinfo=UTC) if ended is not None and ended.tzinfo is None else ended


def _track_finished(
    tracker: ProcessTracker,
    instance: DagsterInstance,
    run: DagsterRun,
    record: RunRecord | None,
    process_run: ProcessRun,
    status: DagsterRunStatus,
) -> ProcessRun:
    """Complete, fail, cancel, skip or refuse the process run of a finished Dagster run."""
    from platform_assets.tracking.tracker import error_type_for

    ended_at = _timestamp(record.end_time if record else None)
    metadata = _materialization_metadata(instance, run.run_id)
    for values in metadata:
        tracker.record_file_events(process_run.id, file_events(values))
    if status == DagsterRunStatus.SUCCESS and _every_step_skipped(instance, run.run_id):
        return tracker.skip_run(process_run.id, "every step of the run was skipped", ended_at=ended_at)
    if status == DagsterRunStatus.SUCCESS:
        return tracker.complete_run(
            process_run.id,
            records_read=_row_count(metadata, ROWS_READ_KEYS),
            records_written=_row_count(metadata),
            ended_at=ended_at,
        )
    if status == DagsterRunStatus.CANCELED:
        # Terminated by someone, often while still queued: not a failure of the process.
        started = record is not None and record.start_time is not None
        return tracker.cancel_run(
            process_run.id, "the run was canceled" + ("" if started else " before it started"), ended_at=ended_at
        )
    failure = failure_of(instance, run.run_id)
    if failure.exception in REFUSALS:
        return tracker.refuse_run(process_run.id, failure.message, exception=failure.exception, ended_at=ended_at)
    # Dagster's run retries (crashed run workers) tag the failed attempt before its failure event
    # is stored: the attempt is recorded, but only the retry's outcome counts toward a hold.
    tags = record.dagster_run.tags if record is not None else run.tags
    will_retry = tags.get(WILL_RETRY_TAG) == "true"
    tracker.fail_run(
        process_run.id,
        error_type_for(failure.exception),
        failure.message + (" (Dagster retries the run)" if will_retry else ""),
        exception=failure.exception,
        step=failure.step,
        ended_at=ended_at,
        counts_toward_hold=not will_retry,
        detail=failure.detail,
    )
    return tracker.get_run(process_run.id)


def track_finished_runs(
    tracker: ProcessTracker,
    instance: DagsterInstance,
    asset_graph: BaseAssetGraph | None = None,
    limit: int = 200,
    skip_run_ids: Iterable[str] = (),
    assets_by_job: Mapping[str, frozenset[str]] | None = None,
) -> list[ProcessRun]:
    """Register the instance's latest finished runs not yet completed/failed in tracking, oldest first."""
    skip = set(skip_run_ids)
    records = instance.get_run_records(filters=RunsFilter(statuses=list(FINISHED)), limit=limit)
    tracked = []
    for record in sorted(records, key=lambda r: r.create_timestamp):
        run = record.dagster_run
        if run.run_id in skip:
            continue
        known = tracker.run_by_dagster_id(run.run_id)
        if known is not None and known.status != "running":
            continue
        tracked.append(track_dagster_run(tracker, instance, run, asset_graph, assets_by_job=assets_by_job))
    return tracked
