"""Open-data months in the `exports` table: publications recorded, and months registry admins
ask to be built and published again (the open-data sensor turns a request into a run)."""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, select, update

from platform_assets.trip_exports.errors import InvalidExportRequest, PermissionDenied
from platform_assets.trip_exports.records import ExportView, new_session, now_utc, view_of, write_log
from platform_assets.trip_exports.rules import ExportRules
from platform_assets.trip_exports.scope import Actor
from platform_assets.trip_exports.tables import Export, Log


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
    with new_session(engine) as session, session.begin():
        export = Export(
            uuid=str(uuid_module.uuid4()), created_by=by, created_by_role="registry.admin", created_by_org=None,
            status="success", progress=100, type="opendata", params={"month": month}, stats=dict(stats),
            created_at=now, updated_at=now, download_url=uris[0] if uris else None,
        )
        session.add(export)
        session.flush()
        write_log(session, export, "created", f"open data {month}: {stats.get('published')} trips anonymised")
        write_log(session, export, "uploaded", ", ".join(uris))
        write_log(session, export, "published", published)
        session.flush()
        return view_of(export, details=True)


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
    with new_session(engine) as session, session.begin():
        export = Export(
            uuid=str(uuid_module.uuid4()), created_by=actor.user, created_by_role=actor.role, created_by_org=None,
            status="pending", progress=0, type="opendata", params={"month": month, "request": True},
            created_at=now, updated_at=now,
        )
        session.add(export)
        session.flush()
        write_log(session, export, "created", f"open data {month} requested by {actor.user}")
        session.flush()
        return view_of(export, details=True)


def claim_opendata_requests(engine: Engine, limit: int = 5, now: datetime | None = None) -> list[tuple[str, str]]:
    """Move pending open-data requests to processing; returns (uuid, month) pairs."""
    now = now or now_utc()
    claimed: list[tuple[str, str]] = []
    with new_session(engine) as session, session.begin():
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
