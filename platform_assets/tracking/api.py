"""`track_process`: the tracking workflow for tools that do not run in Dagster.

    with track_process("nightly_load", type="load", sources=["crm"], targets=["warehouse"]) as run:
        for extract in run.ready_extracts("s3://bucket/crm/"):
            run.read_extract(extract.filename, extract.location)
        run.register_extract("orders.csv", "s3://bucket/warehouse/", size=123)
        run.records_written = 42

The process is registered (or updated), a run is started (refused with ProcessOnHoldError when
the process is on hold, and with ProcessAlreadyRunningError while another run of it is running:
ProcessTracker's "currently running" guard, process_tracker/process_tracker.py), and on exit the
run is completed, or failed with the exception recorded as a fatal error (its cause chain and
stack as the error's detail; it may put the process on hold) and the exception re-raised.
A refused run is recorded with its error, as a run refused under Dagster is.

With PLATFORM_OPENLINEAGE_URL set, the run is sent as OpenLineage events as a Dagster run is:
START when it starts, then COMPLETE, FAIL or ABORT (skipped) with the extracts it read as inputs
and the extracts it wrote as outputs. A refused run never started: it sends nothing.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Engine

from platform_assets.core.database import PlatformDatabase, get_engine, upgrade_database
from platform_assets.core.settings import configure
from platform_assets.tracking.lineage import LineageEmitter, LineageRun, lineage_emitter
from platform_assets.tracking.models import Extract, ProcessRun, RunError
from platform_assets.tracking.resources import TrackingPolicy
from platform_assets.tracking.tracker import ProcessTracker, error_type_for, split_uri

_migrated: set[str] = set()
LOG = logging.getLogger(__name__)


def tracker_for(database: Engine | str | None = None, max_failures: int | None = None) -> ProcessTracker:
    """A tracker on an engine, a database URL (migrated once per process) or the configured
    database; `max_failures` defaults to PLATFORM_MAX_CONCURRENT_FAILURES."""
    if max_failures is None:
        max_failures = configure(TrackingPolicy, resolve=True).max_concurrent_failures
    if isinstance(database, Engine):
        return ProcessTracker(database, max_failures)
    url = database or configure(PlatformDatabase, resolve=True).url
    if url not in _migrated:
        upgrade_database(url)
        _migrated.add(url)
    return ProcessTracker(get_engine(url), max_failures)


class TrackedRun:
    """The run inside `track_process`: register files and errors as the work goes."""

    def __init__(self, tracker: ProcessTracker, run: ProcessRun, process_name: str) -> None:
        self.tracker = tracker
        self.run = run
        self.process_name = process_name
        self.records_read: int | None = None
        self.records_written: int | None = None
        self.fatal_error: str | None = None
        self.skip_reason: str | None = None
        # URIs of the extracts this run read and wrote (its lineage inputs and outputs).
        self.read_uris: list[str] = []
        self.written_uris: list[str] = []

    @property
    def id(self) -> int:
        return self.run.id

    @property
    def run_number(self) -> int:
        return self.run.run_number

    @staticmethod
    def _where(filename: str, location: str | None) -> tuple[str, str]:
        return split_uri(filename) if location is None else (filename, location)

    def register_extract(
        self,
        filename: str,
        location: str | None = None,
        size: int | None = None,
        checksum: str | None = None,
        status: str = "ready",
    ) -> Extract:
        """A file this run wrote (give a filename and location, or one URI)."""
        name, where = self._where(filename, location)
        self.written_uris.append(where + name)
        return self.tracker.register_extract(name, where, run_id=self.id, status=status, size=size, checksum=checksum)

    def extract_status(self, filename: str, location: str | None, status: str) -> Extract:
        name, where = self._where(filename, location)
        if status == "loaded":
            self.read_uris.append(where + name)
        return self.tracker.set_extract_status(name, where, status, run_id=self.id)

    def read_extract(self, filename: str, location: str | None = None) -> Extract:
        """Mark an extract loaded by this run."""
        return self.extract_status(filename, location, "loaded")

    def ready_extracts(self, location: str) -> list[Extract]:
        return self.tracker.ready_extracts(location)

    def find_extract(self, filename: str, location: str) -> Extract | None:
        return self.tracker.find_extract(filename, location)

    def error(
        self, message: str, type: str = "process", fatal: bool = False, exception: str | None = None
    ) -> RunError:
        """Record an error; a fatal one fails the run when the block ends."""
        recorded = self.tracker.record_error(self.id, type, message, fatal=fatal, exception=exception)
        if fatal:
            self.fatal_error = message
        return recorded

    def skip(self, reason: str) -> None:
        """End the run as `skipped` (nothing to do) when the block ends: not a failure, no hold."""
        self.skip_reason = reason


@contextmanager
def track_process(
    name: str,
    database: Engine | str | None = None,
    type: str | None = None,
    tool: str = "python",
    actor: str | None = None,
    sources: Iterable[str] | None = None,
    targets: Iterable[str] | None = None,
    max_concurrent_failures: int | None = None,
    system_kinds: Mapping[str, str] | None = None,
    partition: str | None = None,
    low_data_date: datetime | None = None,
    high_data_date: datetime | None = None,
    allow_concurrent: bool = False,
) -> Iterator[TrackedRun]:
    """Register the process, run the block as one process run, complete or fail it on exit.
    A second run while one is `running` is refused (recorded, then ProcessAlreadyRunningError)
    unless `allow_concurrent`."""
    tracker = tracker_for(database)
    tracker.register_process(
        name,
        type=type,
        tool=tool,
        actor=actor,
        sources=sources,
        targets=targets,
        max_concurrent_failures=max_concurrent_failures,
        system_kinds=system_kinds,
    )
    run = tracker.start_run(
        name, actor=actor, partition=partition, low_data_date=low_data_date, high_data_date=high_data_date,
        exclusive=not allow_concurrent,
    )
    tracked = TrackedRun(tracker, run, name)
    policy = configure(TrackingPolicy, resolve=True)
    lineage = lineage_emitter(policy.openlineage_url, policy.deployment)
    _emit(lineage, "START", tracked, sources, targets)
    try:
        yield tracked
    except BaseException as error:
        message = f"{type_name(error)}: {error}"
        tracker.fail_run(
            run.id,
            error_type=error_type_for(error),
            message=message,
            exception=type_name(error),
            detail=exception_detail(error),
        )
        _emit(lineage, "FAIL", tracked, sources, targets, message)
        raise
    if tracked.fatal_error is not None:
        tracker.fail_run(run.id, message=None)
        _emit(lineage, "FAIL", tracked, sources, targets, tracked.fatal_error)
    elif tracked.skip_reason is not None:
        tracker.skip_run(run.id, tracked.skip_reason)
        _emit(lineage, "ABORT", tracked, sources, targets)
    else:
        tracker.complete_run(run.id, records_read=tracked.records_read, records_written=tracked.records_written)
        _emit(lineage, "COMPLETE", tracked, sources, targets)


def _emit(lineage: LineageEmitter | None, event_type: str, tracked: TrackedRun, sources: Iterable[str] | None,
          targets: Iterable[str] | None, error: str | None = None) -> None:
    """One OpenLineage event of an API run (run id: a UUID derived from process and run number);
    a consumer that cannot take it never fails the tool's run (a logged warning says so)."""
    if lineage is None:
        return
    inputs = [*(sources or ()), *dict.fromkeys(tracked.read_uris)]
    run = LineageRun(f"{tracked.process_name}#{tracked.run_number}", tracked.process_name, inputs,
                     list(targets or ()), list(dict.fromkeys(tracked.written_uris)), error)
    problem = lineage.emit(event_type, run)
    if problem is not None:
        LOG.warning(problem)


def type_name(error: BaseException) -> str:
    return error.__class__.__name__


def exception_detail(error: BaseException, limit: int = 20_000) -> str:
    """The exception with its causes and stacks, as Python prints them (RunError.detail)."""
    return "".join(traceback.format_exception(error)).rstrip()[:limit]
