"""Reading export rows: sessions, the log line helper, the views callers get, get / list.

Every other service module writes through these helpers so a state change and its log line
share one transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from platform_assets.trip_exports.errors import ExportNotFound
from platform_assets.trip_exports.scope import Actor
from platform_assets.trip_exports.tables import Export, Log

OBJECT_PREFIX = "trip_exports"
ACTIVE_STATUSES = ("processing", "uploading", "sending")
FINAL_STATUSES = ("success", "error", "cancelled")
# Log lines holding technical details (object store, SMTP server, settings): shown to registry
# admins and on the CLI, never to other API callers.
INTERNAL_LOG_TYPES = frozenset({"error_detail", "mail_detail"})
# Object URIs (s3://bucket/..., file:///srv/...) name buckets and folders: hidden from those callers.
_URI = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+")


@dataclass(frozen=True)
class ExportView:
    uuid: str
    status: str
    progress: int
    type: str
    created_at: datetime
    created_by: str
    params: dict[str, Any]
    download_url: str | None
    expires_at: datetime | None
    error: str | None
    stats: dict[str, Any] | None
    recipients: tuple[str, ...] = ()
    logs: tuple[tuple[datetime, str, str], ...] = ()


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes that were written as UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def view_of(export: Export, details: bool = False, logs: bool = True) -> ExportView:
    return ExportView(
        uuid=export.uuid,
        status=export.status,
        progress=export.progress,
        type=export.type,
        created_at=as_utc(export.created_at),  # type: ignore[arg-type]
        created_by=export.created_by,
        params=dict(export.params),
        download_url=export.download_url,
        expires_at=as_utc(export.expires_at),
        error=export.error,
        stats=dict(export.stats) if export.stats else None,
        recipients=tuple(r.address for r in export.recipients) if details else (),
        logs=tuple((as_utc(log.created_at), log.type, log.message) for log in export.logs)  # type: ignore[misc]
        if details and logs else (),
    )


def now_utc() -> datetime:
    return datetime.now(UTC)


def new_session(engine: Engine) -> Session:
    return sessionmaker(bind=engine, expire_on_commit=False)()


def write_log(session: Session, export: Export, type_: str, message: str) -> None:
    session.add(Log(export_id=export.id, type=type_, message=message, created_at=now_utc()))


def load_export(session: Session, export_uuid: str) -> Export:
    # Logs load lazily, only when a view shows them: an export polled over the API gathers many.
    statement = select(Export).where(Export.uuid == export_uuid).options(selectinload(Export.recipients))
    export = session.execute(statement).scalar_one_or_none()
    if export is None:
        raise ExportNotFound(f"export {export_uuid}: not found")
    return export


def visible_export(session: Session, actor: Actor, export_uuid: str) -> Export:
    export = load_export(session, export_uuid)
    if not actor.may_see(export.created_by, export.created_by_role, export.created_by_org):
        # Same message as a missing export: callers learn nothing about others' exports.
        raise ExportNotFound(f"export {export_uuid}: not found")
    return export


def get_export(engine: Engine, actor: Actor, export_uuid: str, logs: bool = True) -> ExportView:
    """One export with its recipients and log; technical log lines only for registry admins."""
    with new_session(engine) as session:
        view = view_of(visible_export(session, actor, export_uuid), details=True, logs=logs)
    if actor.role != "registry.admin" and view.logs:
        view = replace(view, logs=tuple((at, type_, _URI.sub("[stored file]", message))
                                        for at, type_, message in view.logs if type_ not in INTERNAL_LOG_TYPES))
    return view


def list_exports(
    engine: Engine, actor: Actor, status: str | None = None, limit: int = 100, offset: int = 0
) -> list[ExportView]:
    """The exports `actor` may see, newest first (`offset` skips the first ones: pages)."""
    statement = select(Export).order_by(Export.created_at.desc(), Export.id.desc())
    if status:
        statement = statement.where(Export.status == status)
    if actor.role != "registry.admin":
        if actor.is_admin:
            statement = statement.where(Export.created_by_org == actor.org, Export.created_by_role.like(f"{actor.family}.%"))
        else:
            statement = statement.where(Export.created_by == actor.user, Export.created_by_role == actor.role)
    with new_session(engine) as session:
        exports = session.execute(statement.limit(limit).offset(offset)).scalars().all()
        return [view_of(export) for export in exports
                if actor.may_see(export.created_by, export.created_by_role, export.created_by_org)]


def get_internal(engine: Engine, export_uuid: str) -> Export:
    """The export row for the run (no permission check: the run acts for the platform)."""
    with new_session(engine) as session:
        return load_export(session, export_uuid)
