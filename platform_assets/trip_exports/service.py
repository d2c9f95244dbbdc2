"""The export service: the functions the CLI, the sensor, the assets (and later an HTTP API) call.

Every state change goes through here and writes a log line in the same transaction. Create
validates the whole request and writes nothing unless all of it is right.
"""

from __future__ import annotations

import secrets
import uuid as uuid_module
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from platform_assets.core.objectstore import ObjectStore
from platform_assets.core.settings import Settings
from platform_assets.trip_exports import geo
from platform_assets.trip_exports.errors import (
    ExportGone,
    ExportNotFound,
    ExportStateError,
    InvalidExportRequest,
    PermissionDenied,
)
from platform_assets.trip_exports.privacy import scramble_people
from platform_assets.trip_exports.scope import Actor, parse_address
from platform_assets.trip_exports.tables import EXPORT_TYPES, Export, Log, Recipient

ACTIVE_STATUSES = ("processing", "uploading", "sending")
FINAL_STATUSES = ("success", "error", "cancelled")
OBJECT_PREFIX = "trip_exports"


@dataclass(frozen=True)
class ExportRules:
    """Limits of a request (the registry's defaults; settings may change them)."""

    max_past_days: int = 3 * 365
    min_end_age_days: int = 5
    max_operators: int = 128
    max_territories: int = 1024
    max_recipients: int = 24
    expiry_days: int = 7
    stale_hours: float = 4.0
    technical_admins: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> ExportRules:
        admins = settings.value("PLATFORM_TRIP_EXPORT_ADMIN_EMAILS") or ",".join(settings.alert_emails)
        return cls(
            max_past_days=settings.whole_number("PLATFORM_TRIP_EXPORT_MAX_PAST_DAYS", minimum=1),
            min_end_age_days=settings.whole_number("PLATFORM_TRIP_EXPORT_MIN_END_AGE_DAYS"),
            expiry_days=settings.whole_number("PLATFORM_TRIP_EXPORT_EXPIRY_DAYS", minimum=1),
            stale_hours=float(settings.value("PLATFORM_TRIP_EXPORT_STALE_HOURS")),
            technical_admins=tuple(a.strip() for a in admins.split(",") if a.strip()),
        )


@dataclass(frozen=True)
class ExportRequest:
    """What a caller asks for. Dates are inclusive whole days."""

    start_date: date | str
    end_date: date | str
    operator_ids: Sequence[int | str] = ()
    geo_selector: Mapping[str, Sequence[str]] = field(default_factory=dict)
    recipients: Sequence[str] = ()
    type: str | None = None
    tz: str = "Europe/Paris"
    message: str | None = None


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


def _view(export: Export, details: bool = False, logs: bool = True) -> ExportView:
    return ExportView(
        uuid=export.uuid,
        status=export.status,
        progress=export.progress,
        type=export.type,
        created_at=export.created_at,
        created_by=export.created_by,
        params=dict(export.params),
        download_url=export.download_url,
        expires_at=export.expires_at,
        error=export.error,
        stats=dict(export.stats) if export.stats else None,
        recipients=tuple(r.address for r in export.recipients) if details else (),
        logs=tuple((log.created_at, log.type, log.message) for log in export.logs) if details and logs else (),
    )


def now_utc() -> datetime:
    return datetime.now(UTC)


def _session(engine: Engine) -> Session:
    return sessionmaker(bind=engine, expire_on_commit=False)()


def _log(session: Session, export: Export, type_: str, message: str) -> None:
    session.add(Log(export_id=export.id, type=type_, message=message, created_at=now_utc()))


# -- create ---------------------------------------------------------------------------------------
def _as_date(value: date | str, name: str, problems: list[str]) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        problems.append(f"{name}: {value!r} is not a date (YYYY-MM-DD)")
        return None


def validate_request(
    actor: Actor, request: ExportRequest, rules: ExportRules, today: date
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Check everything; return (params to store, recipients as (name, email)).

    Raises PermissionDenied when the request reaches beyond the actor's scope, else
    InvalidExportRequest listing every problem at once.
    """
    problems: list[str] = []
    refused: list[str] = []

    start = _as_date(request.start_date, "start_date", problems)
    end = _as_date(request.end_date, "end_date", problems)
    oldest = today - timedelta(days=rules.max_past_days)
    latest_end = today - timedelta(days=rules.min_end_age_days)
    if start and start < oldest:
        problems.append(f"start_date: {start} is more than {rules.max_past_days} days ago (oldest {oldest})")
    if end and end > latest_end:
        problems.append(
            f"end_date: {end} must be at least {rules.min_end_age_days} days ago (latest {latest_end})"
        )
    if start and end and end < start:
        problems.append(f"end_date: {end} is before start_date {start}")

    operator_ids: list[int] = []
    for value in request.operator_ids:
        if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
            operator_ids.append(int(value))
        else:
            problems.append(f"operator_ids: {value!r} is not an operator id")
    operator_ids = sorted(set(operator_ids))
    if len(operator_ids) > rules.max_operators:
        problems.append(f"operator_ids: {len(operator_ids)} operators, at most {rules.max_operators}")

    selector: dict[str, list[str]] = {}
    for level, codes in (request.geo_selector or {}).items():
        if level not in geo.GEO_LEVELS:
            problems.append(f"geo_selector: unknown level {level!r} (expected {', '.join(geo.GEO_LEVELS)})")
            continue
        unknown = [code for code in codes if not geo.known_code(level, str(code))]
        if unknown:
            problems.append(f"geo_selector.{level}: unknown INSEE code(s) {', '.join(map(str, unknown))}")
        selector[level] = sorted({str(code) for code in codes})
    territory_count = sum(len(codes) for codes in selector.values())
    if territory_count > rules.max_territories:
        problems.append(f"geo_selector: {territory_count} territories, at most {rules.max_territories}")

    recipients: list[tuple[str, str]] = []
    for text in request.recipients:
        parsed = parse_address(text)
        if parsed is None:
            problems.append(f"recipients: {text!r} is not formatted 'Name <email>'")
        else:
            recipients.append(parsed)
    if len(request.recipients) > rules.max_recipients:
        problems.append(f"recipients: {len(request.recipients)} recipients, at most {rules.max_recipients}")

    try:
        ZoneInfo(request.tz)
    except (KeyError, ValueError, OSError):
        problems.append(f"tz: {request.tz!r} is not a time zone")

    # Scope: the type follows the role; operators and territories are bounded by their org.
    allowed_types = {"registry": ("registry", "regular"), "operator": ("operator",), "territory": ("territory",)}[
        actor.family
    ]
    export_type = request.type or allowed_types[0]
    if export_type not in EXPORT_TYPES or export_type == "opendata":
        problems.append(f"type: {export_type!r} is not one of registry, regular, operator, territory")
    elif export_type not in allowed_types:
        refused.append(f"role {actor.role} may not create {export_type!r} exports")
    bound: dict[str, Any] = {}
    if actor.operator_id is not None:
        others = [op for op in operator_ids if op != actor.operator_id]
        if others:
            refused.append(
                f"operator {actor.operator_id} may only export its own trips, not operator(s) "
                + ", ".join(map(str, others))
            )
        bound["operator_id"] = actor.operator_id
    if actor.territory is not None:
        level, code = actor.territory
        outside = [
            f"{sel_level}:{sel_code}"
            for sel_level, codes in selector.items()
            for sel_code in codes
            if geo.known_code(sel_level, sel_code) and not geo.within(sel_level, sel_code, level, code)
        ]
        if outside:
            refused.append(f"territory {level}:{code} may not widen its scope to {', '.join(outside)}")
        bound["territory"] = f"{level}:{code}"
    if refused:
        raise PermissionDenied("; ".join(refused))
    if problems:
        raise InvalidExportRequest(problems)

    if not recipients:
        recipients = [(actor.name or actor.user.split("@")[0], actor.user)]
    params = {
        "start_date": start.isoformat() if start else None,
        "end_date": end.isoformat() if end else None,
        "operator_ids": operator_ids,
        "geo_selector": selector,
        "tz": request.tz,
        "type": export_type,
        "bound": bound,
    }
    return params, recipients


def create_export(
    engine: Engine, actor: Actor, request: ExportRequest, rules: ExportRules | None = None, today: date | None = None
) -> ExportView:
    """Validate `request` and write a pending export with its recipients and a log line."""
    rules = rules or ExportRules()
    params, recipients = validate_request(actor, request, rules, today or now_utc().date())
    with _session(engine) as session, session.begin():
        export = Export(
            uuid=str(uuid_module.uuid4()),
            created_by=actor.user,
            created_by_role=actor.role,
            created_by_org=actor.org,
            status="pending",
            progress=0,
            type=params["type"],
            params=params,
            created_at=now_utc(),
            updated_at=now_utc(),
        )
        export.recipients = [Recipient(email=email, fullname=name, message=request.message) for name, email in recipients]
        session.add(export)
        session.flush()
        _log(
            session,
            export,
            "created",
            f"created by {actor.user} ({actor.role}{' ' + actor.org if actor.org else ''}): "
            f"{params['type']} export {params['start_date']}..{params['end_date']}, "
            f"{len(recipients)} recipient(s)",
        )
        session.flush()
        return _view(export, details=True)


# -- read -----------------------------------------------------------------------------------------
def _load(session: Session, export_uuid: str) -> Export:
    # Logs load lazily, only when a view shows them: an export polled over the API gathers many.
    statement = select(Export).where(Export.uuid == export_uuid).options(selectinload(Export.recipients))
    export = session.execute(statement).scalar_one_or_none()
    if export is None:
        raise ExportNotFound(f"export {export_uuid}: not found")
    return export


def _visible(session: Session, actor: Actor, export_uuid: str) -> Export:
    export = _load(session, export_uuid)
    if not actor.may_see(export.created_by, export.created_by_role, export.created_by_org):
        # Same message as a missing export: callers learn nothing about others' exports.
        raise ExportNotFound(f"export {export_uuid}: not found")
    return export


def get_export(engine: Engine, actor: Actor, export_uuid: str, logs: bool = True) -> ExportView:
    with _session(engine) as session:
        return _view(_visible(session, actor, export_uuid), details=True, logs=logs)


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
    with _session(engine) as session:
        exports = session.execute(statement.limit(limit).offset(offset)).scalars().all()
        return [_view(export) for export in exports if actor.may_see(export.created_by, export.created_by_role, export.created_by_org)]


def get_internal(engine: Engine, export_uuid: str) -> Export:
    """The export row for the run (no permission check: the run acts for the platform)."""
    with _session(engine) as session:
        return _load(session, export_uuid)


# -- state changes --------------------------------------------------------------------------------
def cancel_export(engine: Engine, actor: Actor, export_uuid: str, rules: ExportRules | None = None) -> ExportView:
    rules = rules or ExportRules()
    with _session(engine) as session, session.begin():
        export = _visible(session, actor, export_uuid)
        changed = session.execute(
            update(Export)
            .where(Export.id == export.id, Export.status == "pending")
            .values(status="cancelled", updated_at=now_utc(), expires_at=now_utc() + timedelta(days=rules.expiry_days))
        ).rowcount
        if not changed:
            raise ExportStateError(f"export {export_uuid}: only pending exports can be cancelled (it is {export.status})")
        _log(session, export, "cancelled", f"cancelled by {actor.user}")
    return get_export(engine, actor, export_uuid)


def claim_pending(engine: Engine, limit: int = 10, now: datetime | None = None) -> list[str]:
    """Move up to `limit` pending exports to processing and return their uuids.

    PostgreSQL: `SELECT ... FOR UPDATE SKIP LOCKED` so concurrent claimers never take the same
    row. SQLite (one writer at a time): a compare-and-set UPDATE per row, which a second claimer
    loses. Either way each export is claimed once.
    """
    now = now or now_utc()
    claimed: list[str] = []
    with _session(engine) as session, session.begin():
        # Open-data requests are pending too, but claimed by their own sensor (claim_opendata_requests).
        statement = (
            select(Export.id, Export.uuid)
            .where(Export.status == "pending", Export.type != "opendata")
            .order_by(Export.id)
            .limit(limit)
        )
        if engine.dialect.name == "postgresql":
            statement = statement.with_for_update(skip_locked=True)
        for export_id, export_uuid in session.execute(statement).all():
            changed = session.execute(
                update(Export)
                .where(Export.id == export_id, Export.status == "pending")
                .values(status="processing", progress=0, claimed_at=now, updated_at=now)
            ).rowcount
            if changed:
                session.add(Log(export_id=export_id, type="claimed", message="claimed for processing", created_at=now))
                claimed.append(export_uuid)
    return claimed


def start_processing(engine: Engine, export_uuid: str) -> Export:
    """The run's first step: take the export (claiming it when still pending). An export left in
    processing / uploading / sending by a crashed run, or in error, may be run again; a finished,
    cancelled or expired one may not."""
    now = now_utc()
    with _session(engine) as session, session.begin():
        export = _load(session, export_uuid)
        if export.status not in ("pending", "error", *ACTIVE_STATUSES):
            raise ExportStateError(f"export {export_uuid}: cannot process an export that is {export.status}")
        previous = export.status
        changed = session.execute(
            update(Export)
            .where(Export.id == export.id, Export.status == previous)
            .values(status="processing", progress=0, claimed_at=now, updated_at=now, error=None)
        ).rowcount
        if not changed:
            raise ExportStateError(f"export {export_uuid}: taken by another worker")
        _log(session, export, "processing", f"processing started (was {previous})")
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
    with _session(engine) as session, session.begin():
        export = _load(session, export_uuid)
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
        _log(session, export, status, message)


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
    engine: Engine, timeout: timedelta = timedelta(hours=4), now: datetime | None = None, expiry_days: int = 7
) -> list[str]:
    """Exports stuck in processing / uploading / sending longer than `timeout` become error."""
    now = now or now_utc()
    cutoff = now - timeout
    failed: list[str] = []
    with _session(engine) as session, session.begin():
        stuck = session.execute(
            select(Export).where(Export.status.in_(ACTIVE_STATUSES), Export.claimed_at < cutoff)
        ).scalars().all()
        for export in stuck:
            message = f"stale: {export.status} since {export.claimed_at:%Y-%m-%d %H:%M} UTC, more than {timeout}"
            changed = session.execute(
                update(Export)
                .where(Export.id == export.id, Export.status == export.status)
                .values(status="error", error=message, updated_at=now, expires_at=now + timedelta(days=expiry_days))
            ).rowcount
            if changed:
                _log(session, export, "error", message)
                failed.append(export.uuid)
    return failed


def scramble_text(length: int = 16) -> str:
    return secrets.token_hex(length // 2)


def expire_exports(engine: Engine, store: ObjectStore, now: datetime | None = None) -> list[str]:
    """Finished exports past `expires_at`: scramble recipients, delete files, mark expired."""
    now = now or now_utc()
    expired: list[str] = []
    with _session(engine) as session:
        due = session.execute(
            select(Export.uuid).where(Export.status.in_(FINAL_STATUSES), Export.expires_at <= now)
        ).scalars().all()
    for export_uuid in due:
        deleted = [info.key for info in store.list(f"{OBJECT_PREFIX}/{export_uuid}/")]
        for key in deleted:
            store.delete(key)
        with _session(engine) as session, session.begin():
            export = _load(session, export_uuid)
            scramble_people(export, now)  # recipients, the creator's email, addresses in the logs
            session.execute(
                update(Export)
                .where(Export.id == export.id)
                .values(status="expired", download_url=None, updated_at=now)
            )
            _log(
                session,
                export,
                "expired",
                f"expired: {len(export.recipients)} recipient(s) scrambled, {len(deleted)} file(s) deleted"
                + (f" ({', '.join(deleted)})" if deleted else ""),
            )
        expired.append(export_uuid)
    return expired


def record_opendata(
    engine: Engine,
    month: str,
    stats: Mapping[str, Any],
    uris: Sequence[str],
    published: str,
    by: str = "platform",
    rules: ExportRules | None = None,
) -> ExportView:
    """Keep a monthly open-data publication in `exports` (type opendata) with its log lines, so
    registry admins list it beside requested exports. Open-data files are never expired."""
    now = now_utc()
    with _session(engine) as session, session.begin():
        export = Export(
            uuid=str(uuid_module.uuid4()), created_by=by, created_by_role="registry.admin", created_by_org=None,
            status="success", progress=100, type="opendata", params={"month": month}, stats=dict(stats),
            created_at=now, updated_at=now, download_url=uris[0] if uris else None,
        )
        session.add(export)
        session.flush()
        _log(session, export, "created", f"open data {month}: {stats.get('published')} trips anonymised")
        _log(session, export, "uploaded", ", ".join(uris))
        _log(session, export, "published", published)
        session.flush()
        return _view(export, details=True)


# -- download links and open-data requests (used by the HTTP API) ---------------------------------
DOWNLOAD_LINK_SECONDS = 60


def download_link(engine: Engine, actor: Actor, export_uuid: str, store: ObjectStore,
                  seconds: int = DOWNLOAD_LINK_SECONDS) -> str:
    """A presigned link to the export's zip, valid `seconds`, for a caller who may see it (logged).
    ExportGone once expired; ExportStateError while not ready."""
    with _session(engine) as session, session.begin():
        export = _visible(session, actor, export_uuid)
        if export.status == "expired":
            raise ExportGone(f"export {export_uuid}: expired, its files were deleted")
        if export.status != "success" or not export.file_key:
            raise ExportStateError(f"export {export_uuid}: not ready for download (it is {export.status})")
        link = store.presigned_url(export.file_key, seconds)
        _log(session, export, "download", f"download link ({seconds} s) given to {actor.user}")
    return link


def validate_month(month: str, today: date) -> str:
    """'YYYY-MM' of a finished month since 2024-01 (the open-data partitions)."""
    try:
        first = date.fromisoformat(f"{month}-01") if len(month) == 7 else None
    except ValueError:
        first = None
    if first is None:
        raise InvalidExportRequest([f"month: {month!r} is not a month (YYYY-MM)"])
    if first < date(2024, 1, 1) or first >= today.replace(day=1):
        raise InvalidExportRequest([f"month: {month} is not a finished month since 2024-01"])
    return month


def request_opendata(engine: Engine, actor: Actor, month: str, today: date | None = None) -> ExportView:
    """Registry admins ask for a month's open data to be built and published again: a pending
    opendata request the open-data sensor turns into a run (nothing heavy happens here)."""
    if actor.role != "registry.admin":
        raise PermissionDenied(f"role {actor.role} may not publish open data (registry admins only)")
    validate_month(month, today or now_utc().date())
    now = now_utc()
    with _session(engine) as session, session.begin():
        export = Export(
            uuid=str(uuid_module.uuid4()), created_by=actor.user, created_by_role=actor.role, created_by_org=None,
            status="pending", progress=0, type="opendata", params={"month": month, "request": True},
            created_at=now, updated_at=now,
        )
        session.add(export)
        session.flush()
        _log(session, export, "created", f"open data {month} requested by {actor.user}")
        session.flush()
        return _view(export, details=True)


def claim_opendata_requests(engine: Engine, limit: int = 5, now: datetime | None = None) -> list[tuple[str, str]]:
    """Move pending open-data requests to processing; returns (uuid, month) pairs."""
    now = now or now_utc()
    claimed: list[tuple[str, str]] = []
    with _session(engine) as session, session.begin():
        statement = (
            select(Export.id, Export.uuid, Export.params)
            .where(Export.status == "pending", Export.type == "opendata")
            .order_by(Export.id)
            .limit(limit)
        )
        if engine.dialect.name == "postgresql":
            statement = statement.with_for_update(skip_locked=True)
        for export_id, export_uuid, params in session.execute(statement).all():
            changed = session.execute(
                update(Export)
                .where(Export.id == export_id, Export.status == "pending")
                .values(status="processing", claimed_at=now, updated_at=now)
            ).rowcount
            if changed:
                session.add(Log(export_id=export_id, type="claimed", message="claimed: open-data run launched",
                                created_at=now))
                claimed.append((export_uuid, params["month"]))
    return claimed
