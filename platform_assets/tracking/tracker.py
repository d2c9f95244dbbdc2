"""Process tracking service: processes, runs, extracts, errors and the on-hold rule (no Dagster).

Every function works on one engine (SQLite or PostgreSQL) with the `tracking` migrations applied.
Holds are written to core's `process_hold` table (through `core.holds`) so that every system's
sensors and schedules can ask `hold_of()` without knowing about tracking.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from platform_assets.core import holds
from platform_assets.core.errors import PlatformError
from platform_assets.tracking.models import (
    DEFAULT_MAX_CONCURRENT_FAILURES,
    ERROR_TYPES,
    EXTRACT_STATUSES,
    PROCESS_TYPES,
    Extract,
    ExtractStatusChange,
    HoldEvent,
    Process,
    ProcessRun,
    RunError,
    System,
    utcnow,
)


class TrackingError(PlatformError):
    """A tracking request that cannot be honoured (unknown process, bad status...)."""


class UnknownProcessError(TrackingError):
    pass


class ExtractStatusError(TrackingError):
    pass


class ProcessAlreadyRunningError(TrackingError):
    """A run was asked of a process that is running already (ProcessTracker's "currently running" guard)."""


# Which statuses an extract may move to from each status. Writing a file again (register) always
# makes it `ready`, whatever it was: a rewrite replaces the file.
EXTRACT_TRANSITIONS: dict[str, frozenset[str]] = {
    "initialized": frozenset({"ready", "loading", "error", "deleted"}),
    "ready": frozenset({"loading", "loaded", "archived", "deleted", "error"}),
    "loading": frozenset({"loaded", "ready", "error"}),
    "loaded": frozenset({"loading", "loaded", "archived", "deleted", "error"}),
    "archived": frozenset({"loading", "loaded", "deleted", "error"}),
    "deleted": frozenset(),
    "error": frozenset({"ready", "deleted"}),
}

# Error type by exception class name, most specific first when walking an exception's MRO.
ERROR_TYPE_BY_EXCEPTION: dict[str, str] = {
    "FileNotFoundError": "file",
    "IsADirectoryError": "file",
    "NotADirectoryError": "file",
    "PermissionError": "file",
    "FileExistsError": "file",
    "BadZipFile": "file",
    "ObjectStoreError": "file",
    "ValueError": "data",
    "KeyError": "data",
    "IndexError": "data",
    "UnicodeError": "data",
    "JSONDecodeError": "data",
    "SchemaError": "data",
    "SchemaErrors": "data",
    "ValidationError": "data",
    "ParserError": "data",
    "ConnectionError": "system",
    "TimeoutError": "system",
    "OSError": "system",
    "OperationalError": "system",
    "DatabaseError": "system",
    "MailDeliveryError": "system",
    "SettingsError": "system",
    "MemoryError": "system",
}


# What a `platform/files` action (core.metadata) makes of an extract; "written" registers it ready.
FILE_ACTION_STATUS = {"read": "loaded", "deleted": "deleted", "archived": "archived"}


def error_type_for(exception: BaseException | type[BaseException] | str) -> str:
    """file | data | process | system, from an exception (its class hierarchy) or a class name."""
    if isinstance(exception, str):
        return ERROR_TYPE_BY_EXCEPTION.get(exception, "process")
    cls = exception if isinstance(exception, type) else type(exception)
    for klass in cls.__mro__:
        if klass.__name__ in ERROR_TYPE_BY_EXCEPTION:
            return ERROR_TYPE_BY_EXCEPTION[klass.__name__]
    return "process"


def split_uri(uri: str) -> tuple[str, str]:
    """(filename, location) of a file URI or path: the last segment and everything before it."""
    location, _, filename = uri.rstrip("/").rpartition("/")
    if not filename:
        raise TrackingError(f"{uri!r} names no file")
    return filename, location + "/" if location else ""


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite gives back naive datetimes; every stored time is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ProcessStatus:
    """One line of `process list` and of the status report."""

    process: Process
    hold: holds.Hold | None
    last_run: ProcessRun | None

    @property
    def state(self) -> str:
        if self.hold is not None:
            return "on hold"
        return self.last_run.status if self.last_run else "never run"


@dataclass(frozen=True)
class LateProcess:
    """A process whose expected run has not come: its last run's start and when the next was due."""

    process: Process
    last_started_at: datetime | None
    due_at: datetime


RUN_NUMBER_ATTEMPTS = 5


class ProcessTracker:
    """The tracking service over one platform database."""

    def __init__(self, engine: Engine, default_max_failures: int = DEFAULT_MAX_CONCURRENT_FAILURES) -> None:
        self.engine = engine
        self.default_max_failures = default_max_failures

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # -- processes -----------------------------------------------------------------------------
    def _systems(self, session: Session, names: Iterable[str], kinds: Mapping[str, str]) -> list[System]:
        systems = []
        for name in sorted(set(names)):
            system = session.scalar(select(System).where(System.name == name))
            if system is None:
                system = System(name=name, kind=kinds.get(name))
                session.add(system)
            elif kinds.get(name) and system.kind != kinds[name]:
                system.kind = kinds[name]
            systems.append(system)
        return systems

    def register_process(
        self,
        name: str,
        type: str | None = None,
        tool: str | None = None,
        actor: str | None = None,
        sources: Iterable[str] | None = None,
        targets: Iterable[str] | None = None,
        max_concurrent_failures: int | None = None,
        system_kinds: Mapping[str, str] | None = None,
        expected_every_seconds: int | None = None,
    ) -> Process:
        """Create the process or update what is given (sources/targets replace the previous lists;
        `expected_every_seconds` > 0 sets how often a run is expected, 0 removes the expectation)."""
        if type is not None and type not in PROCESS_TYPES:
            raise TrackingError(f"process {name!r}: type {type!r} is not one of: {', '.join(PROCESS_TYPES)}")
        if max_concurrent_failures is not None and max_concurrent_failures < 1:
            raise TrackingError(f"process {name!r}: max_concurrent_failures must be at least 1")
        kinds = dict(system_kinds or {})
        with self._session() as session, session.begin():
            process = session.scalar(
                select(Process)
                .where(Process.name == name)
                .options(selectinload(Process.sources), selectinload(Process.targets))
            )
            if process is None:
                process = Process(
                    name=name,
                    type=type or "other",
                    tool=tool or "python",
                    max_concurrent_failures=max_concurrent_failures or self.default_max_failures,
                    consecutive_failures=0,
                    sources=[],
                    targets=[],
                )
                session.add(process)
            else:
                process.type = type or process.type
                process.tool = tool or process.tool
                if max_concurrent_failures is not None:
                    process.max_concurrent_failures = max_concurrent_failures
            if actor is not None:
                process.actor = actor
            if expected_every_seconds is not None:
                process.expected_every_seconds = expected_every_seconds or None
            if sources is not None:
                process.sources = self._systems(session, sources, kinds)
            if targets is not None:
                process.targets = self._systems(session, targets, kinds)
        return process

    def get_process(self, name: str) -> Process:
        with self._session() as session:
            process = session.scalar(
                select(Process)
                .where(Process.name == name)
                .options(selectinload(Process.sources), selectinload(Process.targets))
            )
        if process is None:
            raise UnknownProcessError(f"no process named {name!r} (see `platform-assets process list`)")
        return process

    def processes(self) -> list[ProcessStatus]:
        """Every process with its hold and last run, by name."""
        with self._session() as session:
            all_processes = session.scalars(
                select(Process)
                .order_by(Process.name)
                .options(selectinload(Process.sources), selectinload(Process.targets))
            ).all()
            last_ids = select(func.max(ProcessRun.id)).group_by(ProcessRun.process_id)
            last_runs = {
                run.process_id: run for run in session.scalars(select(ProcessRun).where(ProcessRun.id.in_(last_ids)))
            }
        return [
            ProcessStatus(process, holds.hold_of(self.engine, process.name), last_runs.get(process.id))
            for process in all_processes
        ]

    # -- lateness ------------------------------------------------------------------------------
    def late_processes(self, now: datetime | None = None) -> list[LateProcess]:
        """Processes with an expected frequency whose last run started longer ago than it (or that
        never ran within it of being registered), not on hold (a hold is told on its own)."""
        now = now or utcnow()
        late = []
        for status in self.processes():
            process = status.process
            if not process.expected_every_seconds or status.hold is not None:
                continue
            last = as_utc(status.last_run.started_at) if status.last_run else None
            since = last or as_utc(process.created_at)
            assert since is not None
            due = since + timedelta(seconds=process.expected_every_seconds)
            if now > due:
                late.append(LateProcess(process, last, due))
        return late

    def mark_late_notified(self, process_name: str, at: datetime | None = None) -> None:
        with self._session() as session, session.begin():
            session.execute(update(Process).where(Process.name == process_name).values(late_notified_at=at or utcnow()))

    # -- runs ----------------------------------------------------------------------------------
    def running_runs(self, process_name: str) -> list[ProcessRun]:
        """The process's runs still `running`, oldest first."""
        process = self.get_process(process_name)
        with self._session() as session:
            return list(
                session.scalars(
                    select(ProcessRun)
                    .where(ProcessRun.process_id == process.id, ProcessRun.status == "running")
                    .order_by(ProcessRun.run_number)
                )
            )

    def _new_run(self, session: Session, process: Process, status: str, **values: Any) -> ProcessRun:
        last = session.scalar(select(func.max(ProcessRun.run_number)).where(ProcessRun.process_id == process.id))
        run = ProcessRun(process_id=process.id, run_number=(last or 0) + 1, status=status, **values)
        session.add(run)
        session.flush()
        return run

    def _locked_process(self, session: Session, name: str) -> Process:
        # Row lock (PostgreSQL) so two runs of one process never get the same run number. SQLite has
        # no row locks: a no-op UPDATE first takes the database write lock (waiting out busy_timeout),
        # so the run number read next cannot be taken by another writer before this commit.
        if session.get_bind().dialect.name == "sqlite":
            session.execute(update(Process).where(Process.name == name).values(name=Process.name))
        process = session.scalar(select(Process).where(Process.name == name).with_for_update())
        if process is None:
            raise UnknownProcessError(f"no process named {name!r}: register it first")
        return process

    def start_run(
        self,
        process_name: str,
        actor: str | None = None,
        dagster_run_id: str | None = None,
        partition: str | None = None,
        started_at: datetime | None = None,
        low_data_date: datetime | None = None,
        high_data_date: datetime | None = None,
        check_hold: bool = True,
        exclusive: bool = False,
    ) -> ProcessRun:
        """Record a running run (numbered per process). A held process gets a refused run with
        status `on hold` and ProcessOnHoldError, unless `check_hold` is False (Dagster already ran it).
        With `exclusive`, a process that has a run `running` gets a `refused` run and
        ProcessAlreadyRunningError (the check and the new run are one transaction on the locked process).
        """
        for attempt in range(RUN_NUMBER_ATTEMPTS):
            try:
                return self._start_run(
                    process_name, actor, dagster_run_id, partition, started_at, low_data_date, high_data_date,
                    check_hold, exclusive,
                )
            except IntegrityError:
                # Another writer registered the same Dagster run first (it won): return its row.
                # Anything else is retried a few times before it is raised.
                existing = self.run_by_dagster_id(dagster_run_id) if dagster_run_id else None
                if existing is not None:
                    return existing
                if attempt == RUN_NUMBER_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _start_run(
        self,
        process_name: str,
        actor: str | None,
        dagster_run_id: str | None,
        partition: str | None,
        started_at: datetime | None,
        low_data_date: datetime | None,
        high_data_date: datetime | None,
        check_hold: bool,
        exclusive: bool,
    ) -> ProcessRun:
        hold = holds.hold_of(self.engine, process_name, partition) if check_hold else None
        refusal: TrackingError | None = None
        with self._session() as session, session.begin():
            process = self._locked_process(session, process_name)
            if dagster_run_id is not None:
                existing = session.scalar(select(ProcessRun).where(ProcessRun.dagster_run_id == dagster_run_id))
                if existing is not None:
                    return existing
            running = None
            if exclusive and hold is None:
                running = session.scalar(
                    select(ProcessRun)
                    .where(ProcessRun.process_id == process.id, ProcessRun.status == "running")
                    .order_by(ProcessRun.run_number)
                    .limit(1)
                )
            status = "on hold" if hold else "refused" if running is not None else "running"
            process.late_notified_at = None  # a run came: the next lateness is a new one
            run = self._new_run(
                session,
                process,
                status,
                actor=actor or process.actor,
                dagster_run_id=dagster_run_id,
                partition=partition,
                started_at=started_at or utcnow(),
                ended_at=utcnow() if status != "running" else None,
                low_data_date=low_data_date,
                high_data_date=high_data_date,
            )
            if hold is not None:
                refusal = holds.ProcessOnHoldError(hold.message())
            elif running is not None:
                since = as_utc(running.started_at)
                refusal = ProcessAlreadyRunningError(
                    f"process {process_name!r} is already running (run #{running.run_number} since "
                    f"{since.strftime('%Y-%m-%d %H:%M:%S UTC') if since else 'an unknown time'}): "
                    f"run #{run.run_number} refused"
                )
            if refusal is not None:
                # The refused run keeps why, as a run refused under Dagster does (not fatal: nothing failed).
                self._add_error(session, run, "process", str(refusal), False, type(refusal).__name__, None)
        if refusal is not None:
            raise refusal
        return run

    def _run(self, session: Session, run_id: int) -> ProcessRun:
        run = session.get(ProcessRun, run_id, options=[selectinload(ProcessRun.process)])
        if run is None:
            raise TrackingError(f"no process run with id {run_id}")
        return run

    def get_run(self, run_id: int) -> ProcessRun:
        with self._session() as session:
            return self._run(session, run_id)

    def run_by_dagster_id(self, dagster_run_id: str) -> ProcessRun | None:
        with self._session() as session:
            return session.scalar(
                select(ProcessRun)
                .where(ProcessRun.dagster_run_id == dagster_run_id)
                .options(selectinload(ProcessRun.process))
            )

    def complete_run(
        self,
        run_id: int,
        records_read: int | None = None,
        records_written: int | None = None,
        ended_at: datetime | None = None,
    ) -> ProcessRun:
        with self._session() as session, session.begin():
            run = self._run(session, run_id)
            run.status = "completed"
            run.ended_at = ended_at or utcnow()
            if records_read is not None:
                run.records_read = records_read
            if records_written is not None:
                run.records_written = records_written
            process = session.get(Process, run.process_id, with_for_update=True)
            assert process is not None
            process.consecutive_failures = 0
            process.last_completed_at = run.ended_at
        return run

    def fail_run(
        self,
        run_id: int,
        error_type: str = "process",
        message: str | None = "the run failed",
        exception: str | None = None,
        step: str | None = None,
        ended_at: datetime | None = None,
        counts_toward_hold: bool = True,
        detail: str | None = None,
    ) -> holds.Hold | None:
        """Mark the run failed with a fatal error (none added when `message` is None: already recorded);
        apply the on-hold rule unless `counts_toward_hold` is False (an attempt that will be retried
        is not yet a failure of the process). Returns the hold it put, if any.
        """
        with self._session() as session, session.begin():
            run = self._run(session, run_id)
            already_failed = run.status == "failed"
            run.status = "failed"
            run.ended_at = ended_at or utcnow()
            partition = run.partition
            if message is not None:
                self._add_error(session, run, error_type, message, True, exception, step, detail)
            else:
                last_error = session.scalar(
                    select(RunError.message).where(RunError.process_run_id == run.id).order_by(RunError.id.desc())
                )
                message = last_error or "the run failed"
            # One atomic UPDATE: concurrent failures of one process are all counted.
            counted = Process.consecutive_failures + (0 if already_failed or not counts_toward_hold else 1)
            failures, limit, name = session.execute(
                update(Process)
                .where(Process.id == run.process_id)
                .values(consecutive_failures=counted, last_failed_at=run.ended_at)
                .returning(Process.consecutive_failures, Process.max_concurrent_failures, Process.name)
            ).one()
        # The hold is written after the commit: on SQLite a second writer would wait on our lock.
        if not counts_toward_hold:
            return None
        last = message.strip().splitlines()[0][:200]
        if partition:
            # A partitioned job is held for the failing partition only (a contributor with a dead
            # URL must not stop the healthy ones): its own consecutive failures decide.
            failures = self._partition_failures(run.process_id, partition, limit)
            if failures >= limit and holds.hold_of(self.engine, name, partition) is None:
                reason = f"the last {failures} runs of {partition} failed; last error: {last}"
                self.hold(name, reason, by="tracking", partition=partition)
                return holds.hold_of(self.engine, name, partition)
            return None
        if failures >= limit and holds.hold_of(self.engine, name) is None:
            self.hold(name, f"the last {failures} runs failed; last error: {last}", by="tracking")
            return holds.hold_of(self.engine, name)
        return None

    def _partition_failures(self, process_id: int, partition: str, limit: int) -> int:
        """Failed runs of one partition in a row, newest first, up to its last completed run; runs
        that are not failures (canceled, skipped, refused, on hold, running) neither count nor reset."""
        with self._session() as session:
            statuses = session.scalars(
                select(ProcessRun.status)
                .where(ProcessRun.process_id == process_id, ProcessRun.partition == partition)
                .order_by(ProcessRun.id.desc())
                .limit(limit * 10)
            ).all()
        failures = 0
        for status in statuses:
            if status == "completed":
                break
            if status == "failed":
                failures += 1
        return failures

    def _add_error(
        self,
        session: Session,
        run: ProcessRun,
        error_type: str,
        message: str,
        fatal: bool,
        exception: str | None,
        step: str | None,
        detail: str | None = None,
    ) -> RunError:
        if error_type not in ERROR_TYPES:
            raise TrackingError(f"error type {error_type!r} is not one of: {', '.join(ERROR_TYPES)}")
        error = RunError(
            process_run_id=run.id, type=error_type, message=message, fatal=fatal, exception=exception, step=step,
            detail=detail,
        )
        session.add(error)
        return error

    def refuse_run(
        self, run_id: int, message: str, exception: str = "ProcessOnHoldError", ended_at: datetime | None = None
    ) -> ProcessRun:
        """A run refused before it did anything: `on hold` when its process is held (ProcessOnHoldError),
        else `refused`. Not a failure: it neither counts toward a hold nor resets the count."""
        return self._end_unfinished(
            run_id, "on hold" if exception == "ProcessOnHoldError" else "refused", message, exception, ended_at
        )

    def cancel_run(self, run_id: int, message: str = "the run was canceled", ended_at: datetime | None = None) -> ProcessRun:
        """A run terminated by someone (often while still queued): `canceled`, not a failure."""
        return self._end_unfinished(run_id, "canceled", message, "RunCanceled", ended_at)

    def skip_run(self, run_id: int, reason: str, ended_at: datetime | None = None) -> ProcessRun:
        """A run that ended without doing its work (nothing to do): `skipped`, not a failure."""
        return self._end_unfinished(run_id, "skipped", reason, "RunSkipped", ended_at)

    def _end_unfinished(
        self, run_id: int, status: str, message: str, exception: str, ended_at: datetime | None
    ) -> ProcessRun:
        with self._session() as session, session.begin():
            run = self._run(session, run_id)
            run.status = status
            run.ended_at = ended_at or run.ended_at or utcnow()
            self._add_error(session, run, "process", message, False, exception, None)
        return run

    def record_error(
        self,
        run_id: int,
        error_type: str,
        message: str,
        fatal: bool = False,
        exception: str | None = None,
        step: str | None = None,
    ) -> RunError:
        with self._session() as session, session.begin():
            return self._add_error(session, self._run(session, run_id), error_type, message, fatal, exception, step)

    def runs(self, process_name: str, limit: int = 20) -> list[ProcessRun]:
        """The process's latest runs, newest first."""
        process = self.get_process(process_name)
        with self._session() as session:
            return list(
                session.scalars(
                    select(ProcessRun)
                    .where(ProcessRun.process_id == process.id)
                    .order_by(ProcessRun.run_number.desc())
                    .limit(limit)
                )
            )

    def errors(
        self, process_name: str, limit: int = 50, partition: str | None = None, fatal_only: bool = False
    ) -> list[RunError]:
        """The process's latest errors, newest first (each with its run loaded); of one partition's
        runs when `partition` is given; only the errors that failed a run with `fatal_only`."""
        process = self.get_process(process_name)
        query = select(RunError).join(ProcessRun).where(ProcessRun.process_id == process.id)
        if partition is not None:
            query = query.where(ProcessRun.partition == partition)
        if fatal_only:
            query = query.where(RunError.fatal)
        with self._session() as session:
            return list(
                session.scalars(
                    query.order_by(RunError.id.desc()).limit(limit).options(selectinload(RunError.run))
                )
            )

    # -- holds ---------------------------------------------------------------------------------
    def hold(self, process_name: str, reason: str, by: str, partition: str | None = None) -> None:
        """Put the process on hold: every sensor and schedule that asks core.holds skips it. The hold
        event waits in `process_hold_event` until the notice sensor has mailed the operators."""
        holds.put_on_hold(self.engine, process_name, reason, by=by, partition_key=partition or "")
        with self._session() as session, session.begin():
            session.add(
                HoldEvent(process_name=process_name, action="held", by=by, reason=reason, partition=partition)
            )

    def release(self, process_name: str, by: str, partition: str | None = None) -> None:
        """Release the hold (recording who and when, to be mailed); failures counted so far are forgotten."""
        held = (holds.held_partitions(self.engine, process_name).get(partition) if partition
                else holds.hold_of(self.engine, process_name))
        if held is None:
            where = f" [{partition}]" if partition else ""
            raise TrackingError(f"process {process_name!r}{where} is not on hold")
        holds.release_hold(self.engine, process_name, by=by, partition_key=partition or "")
        with self._session() as session, session.begin():
            session.add(HoldEvent(process_name=process_name, action="released", by=by, partition=partition))
            process = session.scalar(select(Process).where(Process.name == process_name).with_for_update())
            if process is not None:
                process.consecutive_failures = 0

    def unnotified_hold_events(self, limit: int = 50) -> list[HoldEvent]:
        """Hold and release events not mailed yet, oldest first."""
        with self._session() as session:
            return list(
                session.scalars(
                    select(HoldEvent).where(HoldEvent.notified_at.is_(None)).order_by(HoldEvent.id).limit(limit)
                )
            )

    def mark_notified(self, event_id: int, at: datetime | None = None) -> None:
        with self._session() as session, session.begin():
            session.execute(update(HoldEvent).where(HoldEvent.id == event_id).values(notified_at=at or utcnow()))

    def hold_events(self, process_name: str) -> list[HoldEvent]:
        with self._session() as session:
            return list(
                session.scalars(
                    select(HoldEvent).where(HoldEvent.process_name == process_name).order_by(HoldEvent.id)
                )
            )

    # -- extracts ------------------------------------------------------------------------------
    def _extract(self, session: Session, filename: str, location: str) -> Extract | None:
        return session.scalar(
            select(Extract)
            .where(Extract.filename == filename, Extract.location == location)
            .options(selectinload(Extract.history), selectinload(Extract.read_by))
        )

    def register_extract(
        self,
        filename: str,
        location: str,
        run_id: int | None = None,
        status: str = "ready",
        size: int | None = None,
        checksum: str | None = None,
    ) -> Extract:
        """Record a file a run writes (`initialized` while writing, `ready` once written).
        Writing the same filename and location again replaces the file: it becomes that status again.
        """
        if "/" in filename or not filename:
            raise TrackingError(f"extract filename {filename!r} must be a file name without a path")
        if status not in ("initialized", "ready"):
            raise ExtractStatusError(f"extract {filename!r}: a written file is initialized or ready, not {status!r}")
        with self._session() as session, session.begin():
            extract = self._extract(session, filename, location)
            if extract is None:
                extract = Extract(filename=filename, location=location, history=[], read_by=[])
                session.add(extract)
            extract.status = status
            extract.size = size
            extract.checksum = checksum
            extract.written_by_run_id = run_id
            extract.updated_at = utcnow()
            extract.history.append(ExtractStatusChange(status=status, process_run_id=run_id))
        return extract

    def set_extract_status(self, filename: str, location: str, status: str, run_id: int | None = None) -> Extract:
        """Move an extract along its lifecycle; a run loading or loading it is recorded as a reader."""
        if status not in EXTRACT_STATUSES:
            raise ExtractStatusError(f"extract status {status!r} is not one of: {', '.join(EXTRACT_STATUSES)}")
        with self._session() as session, session.begin():
            extract = self._extract(session, filename, location)
            if extract is None:
                raise ExtractStatusError(f"no extract {filename!r} in {location!r}")
            if status not in EXTRACT_TRANSITIONS[extract.status]:
                raise ExtractStatusError(
                    f"extract {filename!r} in {location!r} is {extract.status}: it cannot become {status}"
                )
            extract.status = status
            extract.updated_at = utcnow()
            extract.history.append(ExtractStatusChange(status=status, process_run_id=run_id))
            if run_id is not None and status in ("loading", "loaded"):
                run = self._run(session, run_id)
                if run not in extract.read_by:
                    extract.read_by.append(run)
        return extract

    def find_extract(self, filename: str, location: str) -> Extract | None:
        with self._session() as session:
            return self._extract(session, filename, location)

    def extracts(self, location: str | None = None, status: str | None = None) -> list[Extract]:
        if status is not None and status not in EXTRACT_STATUSES:
            raise ExtractStatusError(f"extract status {status!r} is not one of: {', '.join(EXTRACT_STATUSES)}")
        query = select(Extract).order_by(Extract.location, Extract.filename)
        if location is not None:
            query = query.where(Extract.location == location)
        if status is not None:
            query = query.where(Extract.status == status)
        with self._session() as session:
            return list(session.scalars(query.options(selectinload(Extract.written_by))))

    def ready_extracts(self, location: str) -> list[Extract]:
        """Every extract of `location` waiting to be consumed."""
        return self.extracts(location=location, status="ready")

    def record_file_events(self, run_id: int, events: Iterable[Mapping[str, Any]]) -> list[str]:
        """Apply `platform/files` events (core.metadata) of a run: written -> ready, read -> loaded,
        deleted -> deleted, archived -> archived. Files read that were never registered are registered as loaded.
        Returns one line per event that could not be applied (the others are applied).
        """
        problems = []
        for event in events:
            uri, action = str(event.get("uri", "")), event.get("action")
            try:
                filename, location = split_uri(uri)
                if action == "written":
                    self.register_extract(
                        filename, location, run_id=run_id, size=event.get("size"), checksum=event.get("sha256")
                    )
                    continue
                status = FILE_ACTION_STATUS.get(str(action))
                if status is None:
                    raise TrackingError(f"{uri}: unknown file action {action!r}")
                if self.find_extract(filename, location) is None:
                    # Outside files (a contributor's URL, say) become known the first time they are read.
                    self.register_extract(filename, location, status="ready")
                self.set_extract_status(filename, location, status, run_id=run_id)
            except TrackingError as error:
                problems.append(str(error))
        return problems
