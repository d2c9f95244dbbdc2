"""The export lifecycle: cancel, the run's claim, status and progress, log lines, stale runs.

The run is the only claimer: the sensor launches a run per pending export and leaves it pending,
so an export waiting in the run queue is not "processing" and cannot go stale. The claim is a
compare-and-set on (status, claimed_at) in one UPDATE: of two workers on one export (two
`export process UUID`, or a run and a CLI), exactly one changes the row; the other is told the
export is taken. `claimed_at` is the run's start, which is what staleness counts from.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select, update

from platform_assets.trip_exports.errors import ExportNotFound, ExportStateError, ExportTaken
from platform_assets.trip_exports.records import (
    ACTIVE_STATUSES,
    as_utc,
    get_export,
    get_internal,
    load_export,
    new_session,
    now_utc,
    visible_export,
    write_log,
)
from platform_assets.trip_exports.records import ExportView as ExportView
from platform_assets.trip_exports.rules import ExportRules
from platform_assets.trip_exports.scope import Actor
from platform_assets.trip_exports.tables import Export, Log

DEFAULT_STALE = timedelta(hours=4)


def cancel_export(engine: Engine, actor: Actor, export_uuid: str, rules: ExportRules | None = None) -> ExportView:
    rules = rules or ExportRules()
    with new_session(engine) as session, session.begin():
        export = visible_export(session, actor, export_uuid)
        changed = session.execute(
            update(Export)
            .where(Export.id == export.id, Export.status == "pending")
            .values(status="cancelled", updated_at=now_utc(), expires_at=now_utc() + timedelta(days=rules.expiry_days))
        ).rowcount
        if not changed:
            raise ExportStateError(f"export {export_uuid}: only pending exports can be cancelled (it is {export.status})")
        write_log(session, export, "cancelled", f"cancelled by {actor.user}")
    return get_export(engine, actor, export_uuid)


def pending_exports(engine: Engine, limit: int | None = 100, exclude: Collection[str] = ()) -> list[str]:
    """Uuids of pending exports (not open-data requests), oldest first, but those in `exclude`.
    Read only: the sensor asks for a run per export and the run claims it."""
    statement = select(Export.uuid).where(Export.status == "pending", Export.type != "opendata").order_by(Export.id)
    if exclude:
        statement = statement.where(Export.uuid.not_in(list(exclude)))
    if limit is not None:
        statement = statement.limit(limit)
    with engine.connect() as connection:
        return list(connection.execute(statement).scalars())


def start_processing(
    engine: Engine, export_uuid: str, stale_after: timedelta = DEFAULT_STALE, now: datetime | None = None
) -> Export:
    """The run's claim. A pending export, one in error, or one whose run started more than
    `stale_after` ago (its worker died) moves to processing with `claimed_at` = now; a finished,
    cancelled or expired one may not be run; one a live run holds raises ExportTaken."""
    now = now or now_utc()
    with new_session(engine) as session, session.begin():
        export = load_export(session, export_uuid)
        previous, previous_claim = export.status, export.claimed_at
        if previous not in ("pending", "error", *ACTIVE_STATUSES):
            raise ExportStateError(f"export {export_uuid}: cannot process an export that is {previous}")
        started = as_utc(previous_claim)
        if previous in ACTIVE_STATUSES and started is not None and started > now - stale_after:
            raise ExportTaken(
                f"export {export_uuid}: taken by another worker ({previous} since {started:%Y-%m-%d %H:%M:%S} UTC)"
            )
        claim = update(Export).where(Export.id == export.id, Export.status == previous)
        claim = claim.where(Export.claimed_at.is_(None) if previous_claim is None else Export.claimed_at == previous_claim)
        changed = session.execute(
            claim.values(status="processing", progress=0, claimed_at=now, updated_at=now, error=None)
        ).rowcount
        if not changed:
            raise ExportTaken(f"export {export_uuid}: taken by another worker")
        how = "taken over from a stale run" if previous in ACTIVE_STATUSES else f"was {previous}"
        write_log(session, export, "processing", f"processing started ({how})")
    return get_internal(engine, export_uuid)


def set_status(
    engine: Engine,
    export_uuid: str,
    status: str,
    message: str,
    progress: int | None = None,
    expected: str | None = None,
    **values: Any,
) -> None:
    """One transition with its log line. With `expected`, the export must still be in that status
    (a run whose export was failed as stale, say, must not carry on as if nothing happened)."""
    now = now_utc()
    with new_session(engine) as session, session.begin():
        export = load_export(session, export_uuid)
        changes: dict[str, Any] = {"status": status, "updated_at": now, **values}
        if progress is not None:
            changes["progress"] = progress
        statement = update(Export).where(Export.id == export.id)
        if expected is not None:
            statement = statement.where(Export.status == expected)
        if not session.execute(statement.values(**changes)).rowcount:
            raise ExportStateError(
                f"export {export_uuid}: expected {expected}, found {export.status}: changed by someone else"
            )
        write_log(session, export, status, message)


def set_progress(engine: Engine, export_uuid: str, progress: int) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(Export).where(Export.uuid == export_uuid).values(progress=progress, updated_at=now_utc())
        )


def add_log(engine: Engine, export_uuid: str, type_: str, message: str) -> None:
    # Core, not the ORM: called on every API call, it should cost one SELECT and one INSERT.
    with engine.begin() as connection:
        export_id = connection.execute(select(Export.id).where(Export.uuid == export_uuid)).scalar_one_or_none()
        if export_id is None:
            raise ExportNotFound(f"export {export_uuid}: not found")
        connection.execute(insert(Log).values(export_id=export_id, type=type_, message=message, created_at=now_utc()))


def fail_stale(
    engine: Engine, timeout: timedelta = DEFAULT_STALE, now: datetime | None = None, expiry_days: int = 7
) -> list[str]:
    """Exports whose run started (claimed_at) more than `timeout` ago and are still in processing /
    uploading / sending become error. Pending exports never go stale: their run has not started."""
    now = now or now_utc()
    cutoff = now - timeout
    failed: list[str] = []
    with new_session(engine) as session, session.begin():
        stuck = session.execute(
            select(Export).where(Export.status.in_(ACTIVE_STATUSES), Export.claimed_at < cutoff)
        ).scalars().all()
        for export in stuck:
            message = f"stale: {export.status} since {export.claimed_at:%Y-%m-%d %H:%M} UTC, more than {timeout}"
            changed = session.execute(
                update(Export)
                # The same claim still: a run that took the export over meanwhile is not failed.
                .where(Export.id == export.id, Export.status == export.status, Export.claimed_at == export.claimed_at)
                .values(status="error", error=message, updated_at=now,
                        expires_at=now + timedelta(days=expiry_days))
            ).rowcount
            if changed:
                write_log(session, export, "error", message)
                failed.append(export.uuid)
    return failed
